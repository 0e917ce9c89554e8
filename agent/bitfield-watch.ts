import type { IncomingMessage } from 'node:http';
import { Bitfield } from '../core/bitfield.ts';
import { BadRequestError } from '../core/errors.ts';
import type { TaskFiles } from './piece-store.ts';

/** What the child already knows of (its own pieces plus what it last saw of this parent), base64. */
export const KNOWN_HEADER = 'x-mayfly-known';
/** How long the parent may hold the request open waiting for news, in ms. */
export const WAIT_HEADER = 'x-mayfly-wait-ms';
/** Below the children's 10 s idle timeout, so a held request is never mistaken for a dead parent. */
export const MAX_BITFIELD_WAIT_MS = 8_000;

export interface BitfieldWatch {
  readonly known: Bitfield;
  readonly waitMs: number;
}

/** Reads a child's watch headers; no headers means "answer at once". */
export function parseBitfieldWatch(req: IncomingMessage, pieceCount: number): BitfieldWatch | undefined {
  const known = req.headers[KNOWN_HEADER];
  const wait = req.headers[WAIT_HEADER];
  if (known === undefined && wait === undefined) return undefined;
  if (typeof known !== 'string' || typeof wait !== 'string') {
    throw new BadRequestError(`${KNOWN_HEADER} and ${WAIT_HEADER} go together`);
  }
  const waitMs = Number(wait);
  if (!/^\d{1,5}$/.test(wait) || waitMs > MAX_BITFIELD_WAIT_MS) {
    throw new BadRequestError(`${WAIT_HEADER} must be a whole number of ms up to ${MAX_BITFIELD_WAIT_MS}`);
  }
  return { known: Bitfield.fromBase64(pieceCount, known), waitMs };
}

/**
 * A child's long poll ("tell me when you have a piece I do not know of"),
 * the HTTP stand-in for BitTorrent's HAVE messages: answers as soon as the
 * advertised set holds news for the child, or when the wait is over, with
 * the advertised set either way. Children learn of new pieces the moment they
 * are verified, without polling every parent several times a second.
 */
export function watchAdvertised(files: TaskFiles, advertised: () => Bitfield, watch: BitfieldWatch, signal: AbortSignal): Promise<Bitfield> {
  const current = advertised();
  if (watch.waitMs === 0 || current.hasAnyNotIn(watch.known) || signal.aborted) return Promise.resolve(current);
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener('abort', finish);
      resolve(advertised());
    };
    const unsubscribe = files.onAdvertised(() => {
      if (advertised().hasAnyNotIn(watch.known)) finish();
    });
    const timer = setTimeout(finish, watch.waitMs);
    signal.addEventListener('abort', finish, { once: true });
  });
}
