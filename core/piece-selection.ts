import type { Bitfield } from './bitfield.ts';

/**
 * Which piece to fetch next and from which parent: pure functions, so the
 * downloader's policy can be reasoned about and unit-tested.
 */
export interface ParentLoad {
  /** Pieces this pull is fetching from it right now. */
  readonly inflight: number;
  /** What it offers (its advertised bitfield). */
  readonly bitfield?: Bitfield;
  readonly info: { readonly source: boolean; readonly seed: boolean };
}

/**
 * `candidates` ordered rarest first (fewest parents offering them), ties in
 * random order so children spread over different pieces. Pieces no parent
 * offers come first, with availability 0: only the origin can serve them.
 */
export function rarestFirst(candidates: readonly number[], parents: readonly ParentLoad[], random: () => number = Math.random): { order: number[]; availability: Map<number, number> } {
  const availability = new Map<number, number>();
  for (const index of candidates) {
    let count = 0;
    for (const parent of parents) if (parent.bitfield?.has(index)) count++;
    availability.set(index, count);
  }
  const order = [...candidates];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  order.sort((a, b) => availability.get(a)! - availability.get(b)!);
  return { order, availability };
}

/**
 * The parent to ask for piece `index`: one with a free slot (fewer than
 * `perParent` transfers from this pull) that offers it; fewest transfers
 * first, then peers that are still downloading — the upload of the
 * back-to-source agent and of complete peers is kept for the pieces only
 * they have — then at random.
 */
export function pickParent<T extends ParentLoad>(parents: readonly T[], index: number, perParent: number, random: () => number = Math.random): T | undefined {
  let best: T | undefined;
  for (const parent of parents) {
    if (parent.inflight >= perParent || !parent.bitfield?.has(index)) continue;
    if (!best || parent.inflight < best.inflight) best = parent;
    else if (parent.inflight === best.inflight) {
      const order = reserved(parent) - reserved(best);
      if (order < 0 || (order === 0 && random() < 0.5)) best = parent;
    }
  }
  return best;
}

/** 1 for a parent whose upload is best kept for rare pieces. */
function reserved(parent: ParentLoad): number {
  return parent.info.source || parent.info.seed || parent.bitfield?.complete ? 1 : 0;
}
