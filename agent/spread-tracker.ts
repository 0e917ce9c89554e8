import { Bitfield } from '../core/bitfield.ts';

/** How many children must have fetched a piece before a still-downloading parent stops advertising it. */
const SPREAD_COPIES = 2;
/** For how long, after which the piece is advertised again (in case those children vanished). */
const SPREAD_WINDOW_MS = 3_000;

/**
 * "Super-seeding lite" for agents that are still downloading: a piece this
 * agent just served to enough children is left out of its advertised bitfield
 * for a moment, so other children fetch it from those children and this
 * agent's upload goes to pieces the swarm lacks. The piece is still served if
 * asked for, so no child ever sees a claim it cannot fetch. Finished agents
 * advertise everything.
 */
export class SpreadTracker {
  private readonly served = new Map<string, Map<number, { copies: number; since: number }>>();

  noteServed(taskId: string, index: number, now = Date.now()): void {
    let pieces = this.served.get(taskId);
    if (!pieces) {
      pieces = new Map();
      this.served.set(taskId, pieces);
    }
    const entry = pieces.get(index);
    if (!entry || now - entry.since > SPREAD_WINDOW_MS) pieces.set(index, { copies: 1, since: now });
    else entry.copies++;
  }

  /** `advertised` minus pieces that are spreading without this agent's help. */
  filter(taskId: string, advertised: Bitfield, complete: boolean, now = Date.now()): Bitfield {
    const pieces = this.served.get(taskId);
    if (complete) {
      this.served.delete(taskId);
      return advertised;
    }
    if (!pieces || pieces.size === 0) return advertised;
    let copy: Bitfield | undefined;
    for (const [index, entry] of pieces) {
      if (now - entry.since > SPREAD_WINDOW_MS) {
        pieces.delete(index);
        continue;
      }
      if (entry.copies < SPREAD_COPIES || !advertised.has(index)) continue;
      copy ??= new Bitfield(advertised.length, advertised.toBytes());
      copy.clear(index);
    }
    return copy ?? advertised;
  }
}
