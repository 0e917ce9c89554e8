import type { IncomingMessage, ServerResponse } from 'node:http';
import { Bitfield } from '../../core/bitfield.ts';
import { BadRequestError } from '../../core/errors.ts';
import type { TaskFiles } from '../cache/piece-store.ts';

/** A child asks for a watch (a stream of bitfield lines) with this media type in `accept`. */
export const WATCH_MEDIA_TYPE = 'application/x-ndjson';
/** Least time between two lines of one watch, in ms: the child's choice, up to MAX_WATCH_INTERVAL_MS. */
export const INTERVAL_HEADER = 'x-mayfly-interval-ms';
const MAX_WATCH_INTERVAL_MS = 5_000;
/**
 * A watch repeats the current set this often without news: it tells the child of
 * pieces offered again after a rest, and keeps the line alive below the
 * children's 10 s idle timeout.
 */
export const WATCH_REFRESH_MS = 5_000;
/**
 * A downloading agent sends each piece to one child at a time, so telling all its
 * watchers of a new piece at the same instant makes all but one ask in vain.
 * Lines due together go out this far apart instead: the first child takes the
 * piece, and the later lines no longer offer it.
 */
const STAGGER_MS = 80;
const nextSlot = new WeakMap<TaskFiles, number>();

/** The child's watch interval, or undefined for a plain bitfield request (one answer). */
export function parseWatchInterval(req: IncomingMessage): number | undefined {
  if (!req.headers.accept?.includes(WATCH_MEDIA_TYPE)) return undefined;
  const raw = req.headers[INTERVAL_HEADER];
  if (raw === undefined) return 0;
  if (typeof raw !== 'string' || !/^\d{1,5}$/.test(raw) || Number(raw) > MAX_WATCH_INTERVAL_MS) {
    throw new BadRequestError(`${INTERVAL_HEADER} must be a whole number of ms up to ${MAX_WATCH_INTERVAL_MS}`);
  }
  return Number(raw);
}

/** One line of a watch: the same JSON as a plain bitfield answer, newline-terminated. */
function bitfieldLine(bitfield: Bitfield): string {
  return `${JSON.stringify({ pieceCount: bitfield.length, bitfield: bitfield.toBase64() })}\n`;
}

/**
 * A child's watch of this agent's advertised pieces: the HTTP stand-in for
 * BitTorrent's HAVE messages. One long response per child and parent, a line
 * with the advertised set at once and again whenever it holds a piece not sent
 * before (at most one line per `intervalMs`), ended once the set is complete or
 * the task leaves this agent's cache.
 * A new piece costs the parent one small write per watching child instead of
 * a request and an answer, which on a busy host is most of a poll's CPU.
 */
export function streamAdvertised(res: ServerResponse, files: TaskFiles, advertised: () => Bitfield, intervalMs: number, onLine: () => void): void {
  let sent: Bitfield | undefined;
  let lastLineAt = 0;
  let timer: NodeJS.Timeout | undefined;
  /** Set while a line with news is scheduled: later changes ride on it. */
  let newsTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const close = () => {
    closed = true;
    clearTimeout(timer);
    clearTimeout(newsTimer);
    unsubscribe();
  };
  const end = () => {
    close();
    res.end();
  };
  const sendLine = () => {
    clearTimeout(timer);
    clearTimeout(newsTimer);
    newsTimer = undefined;
    if (closed) return;
    if (files.closed) return end();
    const current = advertised();
    // A copy: advertised() may hand out the live set, which would make every later piece old news.
    sent = sent ? sent.union(current) : new Bitfield(current.length, current.toBytes());
    lastLineAt = Date.now();
    res.write(bitfieldLine(current));
    onLine();
    if (current.complete) return end();
    timer = setTimeout(sendLine, WATCH_REFRESH_MS);
  };
  const unsubscribe = files.onAdvertised(() => {
    if (closed || !sent) return;
    if (files.closed) return end();
    if (newsTimer || !advertised().hasAnyNotIn(sent)) return;
    const now = Date.now();
    let at = Math.max(now, lastLineAt + intervalMs);
    if (!files.complete) {
      // Never more than one interval late: with many watchers the last ones share a slot.
      at = Math.max(at, Math.min(nextSlot.get(files) ?? 0, now + intervalMs));
      nextSlot.set(files, at + STAGGER_MS);
    }
    if (at <= now) return sendLine();
    newsTimer = setTimeout(sendLine, at - now);
  });

  res.once('close', close);
  res.writeHead(200, { 'content-type': WATCH_MEDIA_TYPE, 'cache-control': 'no-store' });
  sendLine();
}
