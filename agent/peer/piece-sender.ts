import type { ServerResponse } from 'node:http';
import { open } from 'node:fs/promises';
import type { ByteRange } from '../../core/piece-math.ts';
import { StorageError } from '../../core/errors.ts';
import type { Throttle } from '../http/throttle.ts';

const CHUNK_BYTES = 256 * 1024;
/** Enough for each of the default 4 upload slots to have a few chunks queued on its socket. */
const POOL_LIMIT = 16;
const pool: Buffer[] = [];

/**
 * Sends one byte range of a cache file as a response body. Chunks are read
 * into pooled buffers, each returned to the pool once its socket write has
 * completed: serving a GB makes almost no garbage, unlike a read stream that
 * allocates a fresh buffer per read. Honours backpressure and the upload limit.
 */
export async function sendFileRange(path: string, range: ByteRange, res: ServerResponse, throttle?: Throttle): Promise<void> {
  const handle = await open(path, 'r');
  try {
    let position = range.start;
    while (position < range.end) {
      if (res.destroyed) throw new Error('child closed the connection');
      const buffer = pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK_BYTES, range.end - position), position);
      if (bytesRead === 0) {
        release(buffer);
        throw new StorageError(`cache file ${path} ends before byte ${position}`, { context: { path } });
      }
      position += bytesRead;
      const wait = throttle?.consume(bytesRead);
      if (wait) await wait;
      // The callback runs once the bytes are handed to the kernel; only then may the buffer be reused.
      if (!res.write(buffer.subarray(0, bytesRead), () => release(buffer))) await drained(res);
    }
    res.end();
    await ended(res);
  } finally {
    await handle.close();
  }
}

function release(buffer: Buffer): void {
  if (pool.length < POOL_LIMIT) pool.push(buffer);
}

/** Resolves on `event`, or when the connection closes first. */
function eventOrClose(res: ServerResponse, event: 'drain' | 'finish'): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off(event, done);
      res.off('close', done);
      resolve();
    };
    res.once(event, done);
    res.once('close', done);
  });
}

const drained = (res: ServerResponse) => eventOrClose(res, 'drain');
const ended = (res: ServerResponse) => (res.writableFinished ? Promise.resolve() : eventOrClose(res, 'finish'));
