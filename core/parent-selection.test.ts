import { describe, expect, it } from 'vitest';
import { hasCompleteSource, selectParents, type PeerCandidate, type SelectParentsOptions } from './parent-selection.ts';

const now = 1_000_000;
const peer = (peerId: string, overrides: Partial<PeerCandidate> = {}): PeerCandidate => ({
  peerId,
  addr: `http://127.0.0.1:${1000 + peerId.length}`,
  site: 'a',
  seed: false,
  finished: false,
  source: false,
  failed: false,
  completed: 10,
  uploads: 0,
  updatedAt: now,
  ...overrides,
});
const options: SelectParentsOptions = { selfPeerId: 'me', site: 'a', pieceCount: 100, now, staleMs: 10_000, limit: 4, random: () => 0.5 };

describe('selectParents', () => {
  it('drops self, blocked, stale, failed and other-site peers', () => {
    const chosen = selectParents(
      [peer('me'), peer('blocked'), peer('stale', { updatedAt: now - 20_000 }), peer('failed', { failed: true }), peer('far', { site: 'b' }), peer('ok')],
      { ...options, blocked: new Set(['blocked']) },
    );
    expect(chosen.map((p) => p.peerId)).toEqual(['ok']);
  });

  it('prefers more pieces, seeds and lower load', () => {
    const chosen = selectParents(
      [peer('busy', { completed: 50, uploads: 16 }), peer('few', { completed: 1 }), peer('seed', { seed: true, finished: true, completed: 100 }), peer('many', { completed: 90 })],
      { ...options, limit: 2 },
    );
    expect(chosen.map((p) => p.peerId)).toEqual(['seed', 'many']);
  });

  it('allows other sites only when asked', () => {
    expect(selectParents([peer('far', { site: 'b' })], { ...options, crossSite: true })).toHaveLength(1);
  });

  it('spreads children over near-equal parents instead of forming a star', () => {
    const candidates = Array.from({ length: 12 }, (_, i) => peer(`p${i}`, { completed: 50 }));
    const picks = new Map<string, number>();
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let child = 0; child < 300; child++) {
      for (const chosen of selectParents(candidates, { ...options, random })) picks.set(chosen.peerId, (picks.get(chosen.peerId) ?? 0) + 1);
    }
    expect(picks.size).toBe(12);
    // 1200 picks over 12 parents: none gets more than twice its fair share.
    expect(Math.max(...picks.values())).toBeLessThan(200);
  });

  it('never returns duplicates or more than the limit', () => {
    const chosen = selectParents([peer('x'), peer('x'), peer('y'), peer('z'), peer('w'), peer('v')], options);
    expect(chosen).toHaveLength(4);
    expect(new Set(chosen.map((p) => p.peerId)).size).toBe(4);
  });
});

describe('hasCompleteSource', () => {
  it('is true for a live finished, seed or back-to-source peer', () => {
    expect(hasCompleteSource([peer('p')], options)).toBe(false);
    expect(hasCompleteSource([peer('p', { finished: true })], options)).toBe(true);
    expect(hasCompleteSource([peer('p', { source: true })], options)).toBe(true);
    expect(hasCompleteSource([peer('p', { finished: true, updatedAt: now - 60_000 })], options)).toBe(false);
    expect(hasCompleteSource([peer('me', { finished: true })], options)).toBe(false);
  });
});
