import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Logger } from '../../core/log.ts';
import { StorageError } from '../../core/errors.ts';
import type { PieceStore } from './piece-store.ts';
import type { TaskFiles } from './task-files.ts';
import { PieceBuffers } from './piece-buffers.ts';
import { guard } from './storage-guard.ts';

/**
 * Reads verified piece `index` whole from the cache file and checks it against
 * the digest it was verified with. The bytes are returned only if they match;
 * on a mismatch the piece is taken back (unverify) and undefined returned, so
 * the caller fetches it again and never hands out what the disk changed.
 * With `buffers`, the bytes are read into one of its buffers: the caller gives
 * it back once sent (a mismatch gives it back here).
 */
export async function readCheckedPiece(files: TaskFiles, index: number, buffers?: PieceBuffers): Promise<Buffer | undefined> {
  const expected = files.digests.get(index);
  const { start, end } = files.range(index);
  const bytes = buffers ? buffers.take(end - start) : Buffer.allocUnsafe(end - start);
  let filled = 0;
  try {
    const handle = await guard(files.dataPath, () => open(files.dataPath, 'r'));
    try {
      while (filled < bytes.length) {
        const { bytesRead } = await guard(files.dataPath, () => handle.read(bytes, filled, bytes.length - filled, start + filled));
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
    } finally {
      await handle.close();
    }
  } catch (error) {
    buffers?.give(bytes);
    throw error;
  }
  // Hashed in place on this thread (about 4 ms per 4 MiB): SubtleCrypto would copy the piece first.
  if (filled === bytes.length && expected !== undefined && createHash('sha256').update(bytes).digest('hex') === expected) return bytes;
  buffers?.give(bytes);
  files.unverify(index);
  return undefined;
}

/**
 * The start-up sweep: checks every verified piece of every cached task, one
 * piece at a time, and takes back those whose bytes changed while the agent
 * was not running, so peers are not served them either. Runs in the
 * background; local users are safe before it reaches a piece, since every
 * byte they are sent is checked on the way out (local/range-reader.ts).
 */
export async function sweepCache(store: PieceStore, log: Logger, stopped: () => boolean): Promise<void> {
  const started = Date.now();
  let checked = 0;
  let dropped = 0;
  const buffers = new PieceBuffers(1);
  for (const files of store.list()) {
    const bad: number[] = [];
    for (const index of files.bitfield.indexes()) {
      if (stopped() || files.closed) return;
      try {
        if (!files.bitfield.has(index)) continue;
        checked++;
        const bytes = await readCheckedPiece(files, index, buffers);
        if (bytes) buffers.give(bytes);
        else bad.push(index);
      } catch (error) {
        if (!(error instanceof StorageError)) throw error;
        bad.push(index);
        files.unverify(index);
      }
    }
    dropped += bad.length;
    if (bad.length > 0) log.warn('cache repair: pieces no longer match their digests; they will be fetched again', { taskId: files.task.id, pieces: bad.slice(0, 20), count: bad.length });
  }
  log.info('cache check done', { pieces: checked, dropped, ms: Date.now() - started });
}
