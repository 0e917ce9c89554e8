/**
 * Reusable buffers: whole pieces for checked reads (local/range-reader.ts),
 * chunks for serving peers (peer/piece-sender.ts).
 *
 * Why: a checked read holds a whole piece (4 MiB by default) in memory. A
 * fresh buffer per piece is memory outside V8's heap, and allocating it at the
 * rate a local copy runs (hundreds of MB/s) makes V8 collect garbage over and
 * over: measured at about half the agent's CPU while it delivered a cached
 * object. A handful of buffers taken and given back keeps that flat.
 */
export class PieceBuffers {
  private readonly free: Buffer[] = [];

  /** @param keep buffers kept for reuse at most (each as long as the longest piece asked for). */
  constructor(private readonly keep = 8) {}

  /** A buffer of exactly `length` bytes (contents undefined); give it back with `give` once nothing refers to it. */
  take(length: number): Buffer {
    const index = this.free.findIndex((buffer) => buffer.buffer.byteLength >= length);
    const backing = index >= 0 ? this.free.splice(index, 1)[0] : Buffer.allocUnsafeSlow(length);
    return backing.subarray(0, length);
  }

  /** Returns a buffer from `take` for reuse. Its bytes may be overwritten at once: call only when no write still reads it. */
  give(buffer: Buffer): void {
    if (this.free.length >= this.keep) return;
    this.free.push(Buffer.from(buffer.buffer, 0, buffer.buffer.byteLength));
  }

  /** Buffers waiting for reuse (for tests). */
  get size(): number {
    return this.free.length;
  }
}

/** The agent's shared pool: one process, one set of piece buffers. */
export const sharedPieceBuffers = new PieceBuffers();
