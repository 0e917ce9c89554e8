/** What a progress line shows; the bar is a pure function of this and the terminal's width. */
export interface ProgressState {
  /** The file's name (or "(stdout)"). */
  readonly label: string;
  /** Bytes received so far (verified pieces plus bytes of pieces in flight). */
  readonly done: number;
  /** The object's size in bytes; undefined until the agent has said. */
  readonly total?: number;
  /** Smoothed bytes per second (see smoothRate). */
  readonly rate: number;
  readonly fromPeers: number;
  readonly fromOrigin: number;
  /** "S3" or "origin". */
  readonly originName: string;
  /** Before the first byte: what the pull waits for. */
  readonly waiting?: string;
}

const MIN_BAR = 10;
const MAX_BAR = 30;

/**
 * One line, at most `width - 1` characters (a line as wide as the terminal
 * wraps on some terminals, and a wrapped line is never erased by `\r`):
 * `name [####....]  42% 1.2 GiB/2.0 GiB 85.3 MiB/s ETA 9s peers 1.0 GiB S3 200.0 MiB`.
 * The least useful parts go first when the terminal is narrow; the name is shortened with `…`.
 */
export function renderProgress(state: ProgressState, width: number): string {
  const room = Math.max(20, width) - 1;
  if (state.waiting !== undefined || state.total === undefined) {
    return fit(`${state.label}: ${state.waiting ?? 'connecting to the scheduler'}…`, room);
  }
  const total = state.total;
  const fraction = total > 0 ? Math.min(1, state.done / total) : 1;
  const eta = state.rate > 0 ? (total - state.done) / state.rate : Number.POSITIVE_INFINITY;
  const parts = [
    `${(fraction * 100).toFixed(0).padStart(3)}%`,
    `${formatBytes(state.done)}/${formatBytes(total)}`,
    state.rate > 0 ? `${formatBytes(state.rate)}/s` : '',
    `ETA ${formatSeconds(eta)}`,
    `peers ${formatBytes(state.fromPeers)} ${state.originName} ${formatBytes(state.fromOrigin)}`,
  ];
  // Drop from the right until a short name and the rest fit; the bar takes what room is left.
  let keep = parts.length;
  let tail = parts.filter(Boolean).join(' ');
  while (keep > 1 && tail.length + 1 + Math.min(state.label.length, 32) > room) tail = parts.slice(0, --keep).filter(Boolean).join(' ');
  const labelRoom = Math.min(state.label.length, Math.max(8, room - tail.length - 1));
  const barWidth = Math.min(MAX_BAR, room - tail.length - labelRoom - 4);
  const filled = Math.round(fraction * barWidth);
  const bar = barWidth >= MIN_BAR ? ` [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]` : '';
  return fit(`${shorten(state.label, labelRoom)}${bar} ${tail}`, room);
}

/** Bytes per second, smoothed exponentially (half-life 3 s), so one fast piece does not read as "2.0 GiB/s ETA 0s". */
export function smoothRate(previous: { rate: number; bytes: number; at: number } | undefined, bytes: number, at: number): { rate: number; bytes: number; at: number } {
  if (!previous) return { rate: 0, bytes, at };
  const elapsed = at - previous.at;
  if (elapsed < 200) return previous;
  const instant = (Math.max(0, bytes - previous.bytes) * 1000) / elapsed;
  const weight = previous.rate === 0 ? 1 : 1 - Math.pow(0.5, elapsed / 3000);
  return { rate: previous.rate + weight * (instant - previous.rate), bytes, at };
}

function fit(line: string, room: number): string {
  return line.length <= room ? line : `${line.slice(0, room - 1)}…`;
}

function shorten(text: string, room: number): string {
  return text.length <= room ? text : `${text.slice(0, Math.max(0, room - 1))}…`;
}

/** A one-line progress bar on a terminal, redrawn in place (at most 10 times a second). */
export class ProgressBar {
  private lastDraw = 0;
  private meter?: { rate: number; bytes: number; at: number };
  private shown = 0;
  private finished = false;

  constructor(private readonly stream: NodeJS.WriteStream, private readonly label: string, private readonly originName = 'S3') {}

  update(progress: { done: number; total?: number; fromPeers?: number; fromOrigin?: number; waiting?: string }): void {
    // The pull's last progress lines may come after the bytes are written: the summary line owns the terminal then.
    if (this.finished) return;
    const now = Date.now();
    // Never backwards: a piece that failed midway is fetched again, its bytes are not un-received.
    this.shown = Math.max(this.shown, progress.done);
    this.meter = smoothRate(this.meter, this.shown, now);
    if (now - this.lastDraw < 100 && (progress.total === undefined || this.shown < progress.total)) return;
    this.lastDraw = now;
    const state: ProgressState = {
      label: this.label,
      done: this.shown,
      total: progress.total,
      rate: this.meter.rate,
      fromPeers: progress.fromPeers ?? 0,
      fromOrigin: progress.fromOrigin ?? 0,
      originName: this.originName,
      waiting: this.shown === 0 ? progress.waiting : undefined,
    };
    this.stream.write(`\r${renderProgress(state, this.stream.columns ?? 80)}\x1b[K`);
  }

  done(): void {
    this.finished = true;
    this.stream.write('\r\x1b[K');
  }
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
}
