/**
 * What a stuck pull does next:
 * - `wait`: progress is recent enough;
 * - `reannounce`: no verified piece for one deadline: drop the parents that
 *   delivered nothing and ask the scheduler again (they go out as unreachable);
 * - `origin`: still nothing half a deadline later: read the origin without
 *   waiting for a grant (the direct fallback).
 */
export type DeadlineStep = 'wait' | 'reannounce' | 'origin';

/**
 * Deadlines that bytes alone may add before a verified piece must come. Partial bytes
 * are unchecked, so parents sending junk slowly across many transfers in flight would
 * otherwise hold a pull for as many deadlines as they have transfers.
 */
export const MAX_BYTE_EXTENSIONS = 3;

/**
 * The progress deadline of one pull (ms clock passed in, so it is pure): every
 * verified piece restarts it, and so does every piece's worth of bytes received
 * (partial pieces included), up to MAX_BYTE_EXTENSIONS times between verified
 * pieces: parents that are slow, each piece taking longer than the deadline, are
 * not stuck while the pull moves a piece per deadline. A parent that trickles a
 * few bytes holds nothing, nor one that breaks its transfers and sends them again. Each step is taken once per stall; the `origin` step
 * holds until the pull ends (restart()).
 */
export class ProgressDeadline {
  private lastProgress: number;
  private lastVerified: number;
  private step: DeadlineStep = 'wait';
  private bytesMark = 0;
  private byteExtensionsLeft = MAX_BYTE_EXTENSIONS;

  /**
   * `deadlineMs`: how long a pull may go without a verified piece (or `pieceLength`
   * bytes received) before it re-announces.
   */
  constructor(
    private readonly deadlineMs: number,
    now: number,
    private readonly pieceLength = Number.POSITIVE_INFINITY,
  ) {
    this.lastProgress = now;
    this.lastVerified = now;
  }

  /** When the deadline last started over (a verified piece, bytes, a held clock, or the start), epoch ms. */
  get since(): number {
    return this.lastProgress;
  }

  /** When the pull last verified a piece (or started), epoch ms: parents that delivered nothing since are idle. */
  get verifiedSince(): number {
    return this.lastVerified;
  }

  /** The direct fallback was taken and still holds. */
  get fallingBack(): boolean {
    return this.step === 'origin';
  }

  /** A piece was verified: the clock starts again (a fallback already taken stays). */
  progress(now: number): void {
    this.lastVerified = now;
    this.byteExtensionsLeft = MAX_BYTE_EXTENSIONS;
    this.startClock(now);
  }

  /**
   * Bytes this pull holds so far, whole and partial pieces (fewer when a transfer breaks):
   * each piece's worth past the most it ever held is progress, so bytes lost with a broken
   * transfer and sent again count once.
   */
  received(totalBytes: number, now: number): void {
    if (totalBytes - this.bytesMark < this.pieceLength) return;
    this.bytesMark = totalBytes;
    if (this.byteExtensionsLeft === 0) return;
    this.byteExtensionsLeft--;
    this.startClock(now);
  }

  /**
   * The control plane is failing: the clock is held (that stall is not the parents'), and
   * the byte extensions are whole again, so bytes received while held (received() just
   * before) spend none; a fallback already taken stays.
   */
  hold(now: number): void {
    this.byteExtensionsLeft = MAX_BYTE_EXTENSIONS;
    this.startClock(Math.max(this.lastProgress, now));
  }

  /** A new run of the pull: nothing is stuck yet. */
  restart(now: number): void {
    this.lastProgress = now;
    this.lastVerified = now;
    this.step = 'wait';
    this.byteExtensionsLeft = MAX_BYTE_EXTENSIONS;
  }

  private startClock(now: number): void {
    this.lastProgress = now;
    if (this.step === 'reannounce') this.step = 'wait';
  }

  /** The step to take now, or `wait` when there is none (a step already taken is not returned again). */
  check(now: number): DeadlineStep {
    const idle = now - this.lastProgress;
    if (this.step === 'wait' && idle >= this.deadlineMs) return (this.step = 'reannounce');
    if (this.step === 'reannounce' && idle >= this.deadlineMs * 1.5) return (this.step = 'origin');
    return 'wait';
  }
}
