import type { ServerResponse } from 'node:http';
import { open } from 'node:fs/promises';
import type { ByteRange } from '../../core/piece-math.ts';
import { StorageError, UnavailableError } from '../../core/errors.ts';
import type { Throttle } from '../http/throttle.ts';
import { PieceBuffers } from '../cache/piece-buffers.ts';
import { TransferFloor, type UploadFloor } from './transfer-floor.ts';

const CHUNK_BYTES = 256 * 1024;
/** Enough for each of the default 4 upload slots to have a few chunks queued on its socket. */
const pool = new PieceBuffers(16);
/** How often a blocked upload checks its floor. */
const FLOOR_CHECK_MS = 500;

/**
 * Sends one byte range of a cache file as a response body. Chunks are read
 * into pooled buffers, each returned to the pool once its socket write has
 * completed: serving a GB makes almost no garbage, unlike a read stream that
 * allocates a fresh buffer per read. Honours backpressure and the upload limit.
 * Settles on every way the transfer ends: done, the child hung up (even between
 * two writes), or the child read slower than `floor` (the response is destroyed;
 * rejects with UnavailableError).
 */
export async function sendFileRange(path: string, range: ByteRange, res: ServerResponse, throttle?: Throttle, floor?: UploadFloor): Promise<void> {
  const transfer = new Transfer(res, floor);
  const handle = await open(path, 'r');
  try {
    let position = range.start;
    while (position < range.end) {
      if (transfer.closed) throw new Error('child closed the connection');
      const buffer = pool.take(CHUNK_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK_BYTES, range.end - position), position);
      if (bytesRead === 0) {
        pool.give(buffer);
        throw new StorageError(`cache file ${path} ends before byte ${position}`, { context: { path } });
      }
      position += bytesRead;
      const wait = throttle?.consume(bytesRead);
      if (wait) await transfer.excused(wait);
      // The callback runs once the bytes are handed to the kernel; only then may the buffer be reused.
      const more = res.write(buffer.subarray(0, bytesRead), () => {
        transfer.moved(bytesRead);
        pool.give(buffer);
      });
      if (!more) await transfer.until('drain');
    }
    res.end();
    if (!res.writableFinished) await transfer.until('finish');
  } finally {
    transfer.dispose();
    await handle.close();
  }
}

/** One response being sent: whether it closed (remembered, so a close between two writes is not missed) and its floor. */
class Transfer {
  closed = false;
  private readonly floor?: TransferFloor;
  private readonly onClose = () => {
    this.closed = true;
    this.wake?.();
  };
  private wake?: () => void;

  constructor(private readonly res: ServerResponse, floor?: UploadFloor) {
    this.floor = floor ? new TransferFloor(floor, Date.now()) : undefined;
    this.closed = res.destroyed;
    res.once('close', this.onClose);
  }

  moved(bytes: number): void {
    this.floor?.moved(bytes);
  }

  /** Waits for the sender's own limit; that time does not count against the child. */
  async excused(wait: Promise<void>): Promise<void> {
    const started = Date.now();
    await wait;
    this.floor?.excuse(Date.now() - started);
  }

  /** Resolves on `event` or close, whichever first (at once if closed already); rejects once the child falls below the floor. */
  async until(event: 'drain' | 'finish'): Promise<void> {
    let fired = false;
    const onEvent = () => {
      fired = true;
      this.wake?.();
    };
    this.res.once(event, onEvent);
    try {
      while (!fired && !this.closed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, FLOOR_CHECK_MS);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
        if (!fired && !this.closed && this.floor?.stalled(Date.now())) {
          this.res.destroy();
          throw new UnavailableError('the child read slower than the upload floor; transfer cut');
        }
      }
    } finally {
      this.res.off(event, onEvent);
    }
  }

  dispose(): void {
    this.res.off('close', this.onClose);
  }
}
