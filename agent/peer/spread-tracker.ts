import { Bitfield } from '../../core/bitfield.ts';

/** After serving a piece it read from the origin, a downloading agent leaves that piece to its child for this long. */
export const ORIGIN_PIECE_REST_MS = 10_000;

interface PieceUploads {
  active: number;
  /** When the last upload of the piece ended. */
  endedAt: number;
}

/**
 * Super-seeding for agents that are still downloading, so their upload goes
 * to pieces the swarm lacks instead of the same piece many times over:
 *
 * - a piece is sent to one child at a time: children asking for it meanwhile
 *   are told to fetch it elsewhere (a piece-level 503), and it is left out of
 *   the advertised bitfield, so the first child receives it at full speed and
 *   can pass it on sooner;
 * - a piece read from the origin (the swarm's only copy, and the source's
 *   upload is what limits the whole swarm) then rests for a few seconds, so
 *   further copies come from that child.
 *
 * Agents holding the whole object serve everything to everyone. One tracker
 * per task (the task's child view holds it).
 */
export class SpreadTracker {
  private readonly pieces = new Map<number, PieceUploads>();

  /** Whether piece `index` may go to another child now; if so, counts its upload as started. */
  tryStart(index: number, complete: boolean, fromOrigin: boolean, now = Date.now()): boolean {
    if (complete) {
      this.pieces.clear();
      return true;
    }
    const entry = this.pieces.get(index);
    if (entry && resting(entry, fromOrigin, now)) return false;
    if (entry) entry.active++;
    else this.pieces.set(index, { active: 1, endedAt: 0 });
    return true;
  }

  /** The upload started by tryStart ended (delivered or not). */
  finish(index: number, now = Date.now()): void {
    const entry = this.pieces.get(index);
    if (!entry) return;
    entry.active = Math.max(0, entry.active - 1);
    entry.endedAt = now;
  }

  /** `advertised` minus the pieces that are resting. */
  filter(advertised: Bitfield, complete: boolean, fromOrigin: (index: number) => boolean, now = Date.now()): Bitfield {
    if (complete) {
      this.pieces.clear();
      return advertised;
    }
    if (this.pieces.size === 0) return advertised;
    let copy: Bitfield | undefined;
    for (const [index, entry] of this.pieces) {
      if (!resting(entry, fromOrigin(index), now)) {
        if (entry.active === 0) this.pieces.delete(index);
        continue;
      }
      if (!advertised.has(index)) continue;
      copy ??= new Bitfield(advertised.length, advertised.toBytes());
      copy.clear(index);
    }
    return copy ?? advertised;
  }
}

function resting(entry: PieceUploads, fromOrigin: boolean, now: number): boolean {
  return entry.active > 0 || (fromOrigin && entry.endedAt > 0 && now - entry.endedAt < ORIGIN_PIECE_REST_MS);
}
