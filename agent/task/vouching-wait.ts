import type { AnnounceResponse } from '../../core/wire/scheduler.ts';

/** How long (ms) a pull waits, per spell, for the control plane to vouch for pieces a source already holds. */
export const VOUCHING_PATIENCE_MS = 120_000;

/**
 * Whether a pull's stall is the control plane's digest work rather than the swarm's: the last
 * answer named a source holding more pieces than the control plane has digests for, so those
 * pieces reach this pull as soon as they are vouched for (a busy digest service, a tree's many
 * small objects). Reading the origin meanwhile would have every such pull in the fleet read the
 * object again. Bounded: a digest service that never answers gives way to the progress deadline
 * after `patienceMs` (pure: the clock is passed in).
 */
export class VouchingWait {
  private since?: number;

  constructor(private readonly patienceMs = VOUCHING_PATIENCE_MS) {}

  /** Takes in one scheduler answer about the task. */
  observe(answer: Pick<AnnounceResponse, 'digestCount' | 'parents'>, now: number): void {
    const pending = answer.parents.some((parent) => parent.source && parent.completed > answer.digestCount);
    if (!pending) this.since = undefined;
    else this.since ??= now;
  }

  /** True while digests are pending at a source, for at most `patienceMs` of one spell. */
  holding(now: number): boolean {
    return this.since !== undefined && now - this.since < this.patienceMs;
  }
}
