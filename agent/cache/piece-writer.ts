import type { FileHandle } from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';
import { StorageError } from '../../core/errors.ts';
import type { ByteRange } from '../../core/piece-math.ts';
import type { Throttle } from '../http/throttle.ts';
import { guard } from './storage-guard.ts';

/** Bytes gathered before one positional write: fewer syscalls per GB received. */
const WRITE_BATCH_BYTES = 1024 * 1024;

/** Where a piece's bytes go: an open data file, or a function that writes them at a position (the cache's handle pool). */
export type WriteTarget = FileHandle | ((buffers: readonly Buffer[], position: number) => Promise<void>);

/**
 * Writes one piece straight to its place in the data file while hashing it; finish() gives the sha256 the caller verifies.
 */
export class PieceWriter {
  private readonly hash: Hash = createHash('sha256');
  private position: number;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  written = 0;
  /** Chunks received so far (for the data-path debug log: bytes per read say how batched the socket reads are). */
  chunks = 0;

  constructor(
    private readonly target: WriteTarget,
    readonly range: ByteRange,
    private readonly path: string,
    private readonly throttle?: Throttle,
  ) {
    this.position = range.start;
  }

  get expectedLength(): number {
    return this.range.end - this.range.start;
  }

  /**
   * Hashes and queues one chunk. Returns a promise only when the caller must
   * wait before the next chunk (a batch is going to disk, or the download limit
   * is reached); most chunks cost no promise at all.
   */
  write(chunk: Buffer): Promise<void> | undefined {
    if (this.written + chunk.length > this.expectedLength) {
      throw new StorageError('piece is longer than expected', { context: { expected: this.expectedLength } });
    }
    this.written += chunk.length;
    this.chunks++;
    // Pausing the caller's read loop makes the download limit hold on the wire.
    const wait = this.throttle?.consume(chunk.length);
    if (wait) return wait.then(() => this.accept(chunk));
    return this.accept(chunk);
  }

  /** Writes what is left and returns the piece's sha256, once all its bytes have arrived. */
  async finish(): Promise<string> {
    if (this.written !== this.expectedLength) {
      throw new StorageError(`piece ended after ${this.written} of ${this.expectedLength} bytes`);
    }
    await this.flush();
    return this.hash.digest('hex');
  }

  private accept(chunk: Buffer): Promise<void> | undefined {
    this.hash.update(chunk);
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    return this.batchBytes >= WRITE_BATCH_BYTES ? this.flush() : undefined;
  }

  /** One positional writev per batch (no copy into a bigger buffer). */
  private async flush(): Promise<void> {
    if (this.batchBytes === 0) return;
    const buffers = this.batch;
    const position = this.position;
    this.position += this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    const target = this.target;
    await guard(this.path, () => (typeof target === 'function' ? target(buffers, position) : writevFully(target, buffers, position)));
  }
}

/** Writes all of `buffers` at `position`, going on after short writes (rare: disk nearly full, a signal). */
export async function writevFully(handle: FileHandle, buffers: readonly Buffer[], position: number): Promise<void> {
  let pending = [...buffers];
  let remaining = pending.reduce((sum, buffer) => sum + buffer.length, 0);
  while (remaining > 0) {
    const { bytesWritten } = await handle.writev(pending, position);
    position += bytesWritten;
    remaining -= bytesWritten;
    if (remaining > 0) {
      const all = Buffer.concat(pending);
      pending = [all.subarray(all.length - remaining)];
    }
  }
}
