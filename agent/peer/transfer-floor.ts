/** The least an upload must move: `bytesPerSecond` averaged over each window of `windowMs`. */
export interface UploadFloor {
  readonly bytesPerSecond: number;
  readonly windowMs: number;
}

/**
 * Watches one upload against its floor (ms clock passed in, so it is pure):
 * a child that reads slower than the floor for a whole window (or not at all)
 * is cut, so it cannot hold an upload slot for good. Time the sender itself
 * spent waiting (the upload bandwidth limit) is excused.
 */
export class TransferFloor {
  private windowStart: number;
  private bytesAtStart = 0;
  private bytes = 0;

  constructor(private readonly floor: UploadFloor, now: number) {
    this.windowStart = now;
  }

  /** Bytes the child took (handed to the kernel). */
  moved(bytes: number): void {
    this.bytes += bytes;
  }

  /** The sender waited `ms` on its own account: that time does not count against the child. */
  excuse(ms: number): void {
    this.windowStart += ms;
  }

  /** Whether the last full window moved less than the floor; a window that met it starts the next. */
  stalled(now: number): boolean {
    const elapsed = now - this.windowStart;
    if (elapsed < this.floor.windowMs) return false;
    if (this.bytes - this.bytesAtStart < (this.floor.bytesPerSecond * elapsed) / 1000) return true;
    this.windowStart = now;
    this.bytesAtStart = this.bytes;
    return false;
  }
}
