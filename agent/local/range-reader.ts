import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IntegrityError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { piecesForRange, type ByteRange } from '../../core/piece-math.ts';
import { readCheckedPiece } from '../cache/piece-check.ts';
import type { TaskSession } from '../task/task-session.ts';

/** Times one read fetches a piece whose cached bytes failed their check, before it gives up. */
const REFETCHES_PER_PIECE = 3;

/**
 * Streams a byte range of a task as its pieces are verified: only the pieces
 * overlapping the range are fetched, and the first bytes go out as soon as the
 * first piece is verified, before the rest arrive. Every piece is read whole
 * and checked against its digest before any of its bytes leave: a piece the
 * disk damaged is dropped from the cache and fetched again, never sent.
 */
export async function* readRange(session: TaskSession, range: ByteRange, signal?: AbortSignal, log?: Logger): AsyncGenerator<Buffer> {
  const { files, task } = session;
  const pieces = piecesForRange(range, task.size, task.pieceLength);
  const release = session.use();
  let fetched = session.ensure(pieces);
  // A failed fetch surfaces through the race below; this keeps it from being unhandled.
  fetched.catch(() => {});
  // The next piece, when already verified, is read and checked while this one is sent.
  let ahead: { index: number; bytes: Promise<Buffer | undefined> } | undefined;
  try {
    for (const [position, index] of pieces.entries()) {
      let bytes: Buffer | undefined;
      for (let attempt = 0; !bytes; attempt++) {
        if (attempt > REFETCHES_PER_PIECE) throw new IntegrityError(`piece ${index} keeps failing its check in the cache`, { context: { taskId: task.id, index } });
        if (attempt > 0) {
          log?.warn('cache repair: a cached piece no longer matches its digest; fetching it again', { taskId: task.id, index });
          fetched = session.ensure([index]);
          fetched.catch(() => {});
        }
        if (!files.bitfield.has(index)) {
          const settled = fetched;
          await Promise.race([files.whenVerified(index, signal), settled.then(() => files.whenVerified(index, signal))]);
        }
        if (signal?.aborted) throw signal.reason;
        bytes = attempt === 0 && ahead?.index === index ? await ahead.bytes : await readCheckedPiece(files, index);
      }
      const next = pieces[position + 1];
      ahead = next !== undefined && files.bitfield.has(next) ? { index: next, bytes: readCheckedPiece(files, next) } : undefined;
      ahead?.bytes.catch(() => {});
      const piece = files.range(index);
      yield bytes.subarray(Math.max(piece.start, range.start) - piece.start, Math.min(piece.end, range.end) - piece.start);
    }
  } finally {
    release();
    files.touch();
  }
}

/**
 * Sends `range` as the body of `res`, once the first piece is in hand: the
 * status line goes out only when the agent knows it can serve (`head()` writes
 * it), so an error before the first byte is a proper answer, not a cut
 * connection. Past the first byte, a client that hangs up ends it quietly; any
 * other failure cuts the connection, so the client sees a short body, never
 * wrong bytes.
 */
export async function sendRange(session: TaskSession, range: ByteRange, res: ServerResponse, head: () => void, log?: Logger): Promise<void> {
  const controller = new AbortController();
  res.once('close', () => controller.abort(new Error('client closed the connection')));
  const chunks = readRange(session, range, controller.signal, log);
  let first: IteratorResult<Buffer> | undefined;
  try {
    first = range.end > range.start ? await chunks.next() : undefined;
  } catch (error) {
    if (controller.signal.aborted) return; // the client left before the first byte
    throw error;
  }
  head();
  async function* body(): AsyncGenerator<Buffer> {
    if (first && !first.done) yield first.value;
    yield* chunks;
  }
  try {
    await pipeline(Readable.from(body(), { objectMode: false, highWaterMark: 1024 * 1024 }), res);
  } catch (error) {
    if (controller.signal.aborted && !res.writableFinished) return;
    throw error;
  }
}
