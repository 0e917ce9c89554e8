/**
 * How fast a pull reads the origin while the scheduler does not answer it (its register
 * patience ran out, or a starved pull waited out the outage grace: swarm-entry.ts). It reads
 * piece by piece, so that it can stop the moment the scheduler answers and the swarm serves
 * the rest: one piece at once, the same one piece until `holdMs`, then an allowance that
 * doubles every `doublingMs`. A short outage costs one piece per agent; a long one is read at
 * full speed after a few doublings (16 pieces by hold + 4 doublings).
 */
export interface OutagePace {
  /** How long (ms) the allowance stays at one piece. */
  readonly holdMs: number;
  /** How long (ms) the allowance takes to double after the hold. */
  readonly doublingMs: number;
}

export const OUTAGE_PACE: OutagePace = { holdMs: 15_000, doublingMs: 5_000 };

/** Pieces a pull may have read from the origin `elapsedMs` after it began to read without the scheduler (at least 1). */
export function outageAllowance(elapsedMs: number, pace: OutagePace = OUTAGE_PACE): number {
  if (!(elapsedMs > pace.holdMs)) return 1;
  return Math.max(1, Math.floor(2 ** ((elapsedMs - pace.holdMs) / pace.doublingMs)));
}

/** Counts the pieces a paced pull has started reading against its allowance. */
export class PacedReads {
  private started = 0;

  constructor(
    private readonly since: number,
    private readonly pace: OutagePace = OUTAGE_PACE,
  ) {}

  /** Whether another piece may start at `now` (one at a time, within the allowance). */
  mayStart(now: number, active: number): boolean {
    return active === 0 && this.started < outageAllowance(now - this.since, this.pace);
  }

  /** A piece started. */
  count(): void {
    this.started++;
  }
}
