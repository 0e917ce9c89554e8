import { formatBytes } from './progress-bar.ts';

/**
 * One progress view for a whole tree pull: files done / total, bytes, rate, ETA, and
 * how many bytes came from peers vs S3 (from the agent's pull results). Drawn on a
 * terminal only, at most every 200 ms; the counters feed the summary either way.
 */
export class TreeProgress {
  filesDone = 0;
  bytesDone = 0;
  fromPeers = 0;
  fromOrigin = 0;
  private readonly started = Date.now();
  private lastDraw = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream | undefined,
    private readonly files: number,
    private readonly total: number,
  ) {}

  /** Bytes written to a file of the tree. */
  bytes(count: number): void {
    this.bytesDone += count;
    this.draw();
  }

  /** `files` done (a pack's bytes are counted once for all its files, each file then with 0 bytes). */
  fileDone(fromPeers: number, fromOrigin: number, files = 1): void {
    this.filesDone += files;
    this.fromPeers += fromPeers;
    this.fromOrigin += fromOrigin;
    this.draw(true);
  }

  /** The escape that wipes the line (empty off a terminal), to put before other output. */
  clear(): string {
    return this.stream ? '\r\x1b[K' : '';
  }

  private draw(force = false): void {
    if (!this.stream) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 200) return;
    this.lastDraw = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? this.bytesDone / seconds : 0;
    const eta = rate > 0 ? Math.max(0, this.total - this.bytesDone) / rate : Infinity;
    const line =
      `files ${this.filesDone}/${this.files}  ${formatBytes(this.bytesDone)}/${formatBytes(this.total)}  ${formatBytes(rate)}/s  ` +
      `ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)}s` : '--'}  peers ${formatBytes(this.fromPeers)}  S3 ${formatBytes(this.fromOrigin)}`;
    this.stream.write(`\r${line}\x1b[K`);
  }
}
