import { describe, expect, it } from 'vitest';
import { Bitfield } from './bitfield.ts';
import { pickParent, rarestFirst, type ParentLoad } from './piece-selection.ts';

const field = (length: number, indexes: number[]) => {
  const bits = new Bitfield(length);
  indexes.forEach((i) => bits.set(i));
  return bits;
};
const parent = (name: string, pieces: Bitfield, extra: Partial<{ inflight: number; source: boolean; seed: boolean }> = {}) => ({
  name,
  inflight: extra.inflight ?? 0,
  bitfield: pieces,
  info: { source: extra.source ?? false, seed: extra.seed ?? false },
});

describe('rarestFirst', () => {
  it('orders pieces by how many parents offer them, unoffered first', () => {
    const parents: ParentLoad[] = [parent('a', field(4, [0, 1, 2])), parent('b', field(4, [0, 1])), parent('c', field(4, [0]))];
    const { order, availability } = rarestFirst([0, 1, 2, 3], parents);
    expect(order).toEqual([3, 2, 1, 0]);
    expect([...availability]).toEqual([[0, 3], [1, 2], [2, 1], [3, 0]]);
  });

  it('shuffles pieces of equal rarity, so children spread over different pieces', () => {
    const parents = [parent('a', Bitfield.full(8))];
    const firsts = new Set<number>();
    for (let seed = 0; seed < 20; seed++) {
      let state = seed;
      const random = () => ((state = (state * 9301 + 49297) % 233280) / 233280);
      firsts.add(rarestFirst([0, 1, 2, 3, 4, 5, 6, 7], parents, random).order[0]);
    }
    expect(firsts.size).toBeGreaterThan(3);
  });
});

describe('pickParent', () => {
  it('asks a parent that offers the piece and has a free slot, fewest transfers first', () => {
    const busy = parent('busy', Bitfield.full(4), { inflight: 1 });
    const idle = parent('idle', Bitfield.full(4));
    const lacking = parent('lacking', field(4, [1]));
    expect(pickParent([busy, idle, lacking], 0, 2)?.name).toBe('idle');
    expect(pickParent([busy, lacking], 0, 1)).toBeUndefined();
  });

  it('keeps sources and complete peers for the pieces only they have', () => {
    const source = parent('source', field(4, [0, 1]), { source: true });
    const seed = parent('seed', Bitfield.full(4));
    const downloading = parent('downloading', field(4, [0]));
    for (let i = 0; i < 10; i++) expect(pickParent([source, seed, downloading], 0, 1)?.name).toBe('downloading');
    // A piece only the source has still comes from it.
    expect(pickParent([source, downloading], 1, 1)?.name).toBe('source');
    // Busy downloaders do not push everyone back onto the seed's slots when it is idle.
    const loaded = parent('loaded', field(4, [0]), { inflight: 1 });
    expect(pickParent([loaded, seed], 0, 2)?.name).toBe('seed');
  });
});
