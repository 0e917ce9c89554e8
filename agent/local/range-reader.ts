import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { IntegrityError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { piecesForRange, type ByteRange } from '../../core/piece-math.ts';
import { sharedPieceBuffers, type PieceBuffers } from '../cache/piece-buffers.ts';
import { readCheckedPiece } from '../cache/piece-check.ts';
import type { TaskSession } from '../task/task-session.ts';

/** Times one read fetches a piece whose cached bytes failed their check, before it gives up. */
const REFETCHES_PER_PIECE = 3;

/** Checked bytes of one piece, and how to hand their buffer back once nothing reads them any more. */
export interface CheckedChunk {
  readonly bytes: Buffer;
  readonly release: () => void;
}

/**
 * Streams a byte range of a task as its pieces are verified: only the pieces
 * overlapping the range are fetched, and the first bytes go out as soon as the
 * first piece is verified, before the rest arrive. Every piece is read whole
 * and checked against its digest before any of its bytes leave: a piece the
 * disk damaged is dropped from the cache and fetched again, never sent.
 * Each chunk's buffer comes from `buffers`: the consumer calls `release` once
 * it no longer needs the bytes (a chunk never released is simply not reused).
 */
export async function* readRange(session: TaskSession, range: ByteRange, signal?: AbortSignal, log?: Logger, buffers: PieceBuffers = sharedPieceBuffers): AsyncGenerator<CheckedChunk> {
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
        if (attempt === 0 && ahead?.index === index) {
          bytes = await ahead.bytes;
          ahead = undefined;
        } else {
          bytes = await readCheckedPiece(files, index, buffers);
        }
      }
      const next = pieces[position + 1];
      ahead = next !== undefined && files.bitfield.has(next) ? { index: next, bytes: readCheckedPiece(files, next, buffers) } : undefined;
      ahead?.bytes.catch(() => {});
      const piece = files.range(index);
      const whole = bytes;
      yield { bytes: whole.subarray(Math.max(piece.start, range.start) - piece.start, Math.min(piece.end, range.end) - piece.start), release: () => buffers.give(whole) };
    }
  } finally {
    // A read ahead that nobody will send goes back once it lands.
    ahead?.bytes.then((bytes) => bytes && buffers.give(bytes), () => {});
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
  let first: IteratorResult<CheckedChunk> | undefined;
  try {
    first = range.end > range.start ? await chunks.next() : undefined;
  } catch (error) {
    if (controller.signal.aborted) return; // the client left before the first byte
    throw error;
  }
  head();
  // Written chunk by chunk (not piped) so each piece's buffer goes back to the pool once the socket has it.
  try {
    let chunk = first && !first.done ? first.value : undefined;
    while (chunk) {
      const { bytes, release } = chunk;
      if (!res.write(bytes, () => release())) await once(res, 'drain', { signal: controller.signal });
      if (controller.signal.aborted) break;
      const step = await chunks.next();
      chunk = step.done ? undefined : step.value;
    }
    if (controller.signal.aborted) {
      await chunks.return(undefined);
      return;
    }
    res.end();
  } catch (error) {
    await chunks.return(undefined).catch(() => {});
    if (controller.signal.aborted && !res.writableFinished) return;
    throw error;
  }
}
