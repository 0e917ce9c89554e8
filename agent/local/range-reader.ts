import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { piecesForRange, type ByteRange } from '../../core/piece-math.ts';
import type { TaskSession } from '../task/task-session.ts';

/**
 * Streams a byte range of a task as its pieces are verified: only the pieces
 * overlapping the range are fetched, and the first bytes go out as soon as the
 * first piece is verified, before the rest arrive.
 */
export async function* readRange(session: TaskSession, range: ByteRange, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const { files, task } = session;
  const pieces = piecesForRange(range, task.size, task.pieceLength);
  const release = files.use();
  const fetched = session.ensure(pieces);
  // A failed fetch surfaces through the race below; this keeps it from being unhandled.
  fetched.catch(() => {});
  try {
    for (const index of pieces) {
      if (!files.bitfield.has(index)) {
        await Promise.race([files.whenVerified(index, signal), fetched.then(() => files.whenVerified(index, signal))]);
      }
      const piece = files.range(index);
      const start = Math.max(piece.start, range.start);
      const end = Math.min(piece.end, range.end);
      for await (const chunk of files.readStream({ start, end })) {
        if (signal?.aborted) throw signal.reason;
        yield chunk as Buffer;
      }
    }
  } finally {
    release();
    files.touch();
  }
}

/**
 * Sends `range` as the body of `res` (headers already written). A client that
 * hangs up ends it quietly; any other failure cuts the connection, so the client
 * sees a short body, never wrong bytes.
 */
export async function sendRange(session: TaskSession, range: ByteRange, res: ServerResponse): Promise<void> {
  const controller = new AbortController();
  res.once('close', () => controller.abort(new Error('client closed the connection')));
  try {
    await pipeline(Readable.from(readRange(session, range, controller.signal), { objectMode: false, highWaterMark: 1024 * 1024 }), res);
  } catch (error) {
    if (controller.signal.aborted && !res.writableFinished) return;
    throw error;
  }
}
