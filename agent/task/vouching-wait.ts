import type { AnnounceResponse } from '../../core/wire/scheduler.ts';

/** How long (ms) a pull waits, per spell, for the pieces a live source reads and the control plane vouches for. */
export const VOUCHING_PATIENCE_MS = 120_000;

/**
 * Whether a pull's stall is the control plane's digest work rather than the swarm's: the last
 * answer named a live source (the back-to-source holder) while digests are still missing, so
 * the pieces it reads reach this pull as soon as the control plane vouches for them (a busy
 * digest service, a tree's many small objects; the holder itself reading slowly). Reading the
 * origin meanwhile would have every such pull in the fleet read the object again; a holder that
 * dies loses its lease and another is granted. Bounded: a digest service that never answers
 * gives way to the progress deadline after `patienceMs` (pure: the clock is passed in).
 */
export class VouchingWait {
  private since?: number;

  constructor(
    private readonly pieceCount: number,
    private readonly patienceMs = VOUCHING_PATIENCE_MS,
  ) {}

  /** Takes in one scheduler answer about the task. */
  observe(answer: Pick<AnnounceResponse, 'digestCount' | 'parents' | 'backToSource'>, now: number): void {
    // This agent may be the source itself: what it read waits for the same digests.
    const source = answer.backToSource || answer.parents.some((parent) => parent.source);
    const pending = answer.digestCount < this.pieceCount && source;
    if (!pending) this.since = undefined;
    else this.since ??= now;
  }

  /** True while digests are pending behind a live source, for at most `patienceMs` of one spell. */
  holding(now: number): boolean {
    return this.since !== undefined && now - this.since < this.patienceMs;
  }
}
