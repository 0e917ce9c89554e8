import { UnavailableError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { AnnounceResponse } from '../../core/wire/scheduler.ts';
import { jitteredBackoff, sleep } from '../http/retry.ts';

/** Least and most time (ms) a pull keeps trying to register before it reads the origin directly. */
export const ENTRY_PATIENCE_MS = { min: 8_000, max: 16_000 } as const;

/**
 * How long (ms) a starved pull in the swarm waits out a scheduler outage before it reads the
 * origin without a grant: longer than a slow spell of the control plane (its digests, and so
 * the swarm's pieces, come back with it), drawn per session so a fleet does not go at once.
 */
export const OUTAGE_GRACE_MS = { min: 20_000, max: 40_000 } as const;

/** A time drawn uniformly between `range.min` and `range.max`. */
export function drawPatience(range: { readonly min: number; readonly max: number }, random: () => number = Math.random): number {
  return range.min + random() * (range.max - range.min);
}

export interface SwarmEntryOptions {
  /** One register (or lookup) announce that may take up to `timeoutMs`. */
  readonly announce: (timeoutMs: number) => Promise<AnnounceResponse>;
  readonly log: Logger;
  readonly patienceMs?: { readonly min: number; readonly max: number };
  /** [0, 1); Math.random by default (tests pass their own). */
  readonly random?: () => number;
  readonly now?: () => number;
}

/**
 * How a pull enters the swarm when the control plane is slow or failing. A slow register
 * is waited for (one attempt may take the whole patience), a failing one is tried again with
 * jittered backoff; each agent's patience is drawn at random between `min` and `max`, so a
 * fleet whose register is slow or down falls back to the origin one at a time over that
 * window, not all at once. Resolves the answer and when it was sent, or undefined when the
 * patience ran out (the caller reads the origin). Errors: anything but UnavailableError (a
 * 4xx answer is final).
 */
export async function enterSwarm(options: SwarmEntryOptions): Promise<{ answer: AnnounceResponse; sentAt: number } | undefined> {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const deadline = now() + drawPatience(options.patienceMs ?? ENTRY_PATIENCE_MS, random);
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    const left = deadline - now();
    if (left <= 0) break;
    const sentAt = now();
    try {
      return { answer: await options.announce(Math.max(1_000, Math.round(left))), sentAt };
    } catch (error) {
      if (!(error instanceof UnavailableError)) throw error;
      lastError = error;
      if (attempt === 1) options.log.info('scheduler slow or unavailable; trying again before reading the origin', { error: (error as Error).message, patienceMs: Math.round(deadline - sentAt) });
    }
    const pause = Math.min(jitteredBackoff(500, attempt, 4_000), deadline - now());
    if (pause > 0) await sleep(pause);
  }
  options.log.warn('scheduler unavailable; pulling straight from the origin', { error: (lastError as Error | undefined)?.message });
  return undefined;
}
