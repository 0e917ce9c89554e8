import type { IncomingMessage, ServerResponse } from 'node:http';
import { Bitfield } from '../../core/bitfield.ts';
import { BadRequestError } from '../../core/errors.ts';
import { INTERVAL_HEADER, MAX_WATCH_INTERVAL_MS, WATCH_MEDIA_TYPE } from '../../core/wire/peer.ts';
import type { ChildView } from './child-view.ts';

/**
 * A watch repeats the current set this often without news: it tells the child of
 * pieces offered again after a rest, and keeps the line alive below the
 * children's 10 s idle timeout.
 */
export const WATCH_REFRESH_MS = 5_000;

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
 * A child's watch of what it may see of a task (its ChildView): the HTTP stand-in for
 * BitTorrent's HAVE messages. One long response per child and parent, a line
 * with the advertised set at once and again whenever it holds a piece not sent
 * before (at most one line per `intervalMs`), ended once the set is complete or
 * the task leaves this agent's cache.
 * A new piece costs the parent one small write per watching child instead of
 * a request and an answer, which on a busy host is most of a poll's CPU.
 */
export function streamAdvertised(res: ServerResponse, view: ChildView, intervalMs: number, onLine: () => void): void {
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
    if (view.closed) return end();
    const current = view.advertised();
    // A copy: advertised() may hand out the live set, which would make every later piece old news.
    sent = sent ? sent.union(current) : new Bitfield(current.length, current.toBytes());
    lastLineAt = Date.now();
    res.write(bitfieldLine(current));
    onLine();
    if (current.complete) return end();
    timer = setTimeout(sendLine, WATCH_REFRESH_MS);
  };
  const unsubscribe = view.onNews(() => {
    if (closed || !sent) return;
    if (view.closed) return end();
    if (newsTimer || !view.advertised().hasAnyNotIn(sent)) return;
    const now = Date.now();
    const at = view.lineAt(Math.max(now, lastLineAt + intervalMs), now, intervalMs);
    if (at <= now) return sendLine();
    newsTimer = setTimeout(sendLine, at - now);
  });

  res.once('close', close);
  res.writeHead(200, { 'content-type': WATCH_MEDIA_TYPE, 'cache-control': 'no-store' });
  sendLine();
}
