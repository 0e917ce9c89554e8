import { describe, expect, it } from 'vitest';
import type { PeerCandidate, SelectParentsOptions } from '../../core/parent-selection.ts';
import { needsBackToSource, planBackToSource } from './back-to-source.ts';

const now = 1_000_000;
const selection: SelectParentsOptions = { selfPeerId: 'me', site: 'a', pieceCount: 10, now, staleMs: 5_000, limit: 4 };
const peer = (peerId: string, overrides: Partial<PeerCandidate> = {}): PeerCandidate => ({
  peerId,
  addr: 'http://127.0.0.1:9',
  site: 'a',
  seed: false,
  finished: false,
  source: false,
  failed: false,
  completed: 3,
  uploads: 0,
  updatedAt: now,
  ...overrides,
});

describe('needsBackToSource', () => {
  it('needs a source when no usable peer has or fetches the whole object', () => {
    expect(needsBackToSource([], selection, false)).toBe(true);
    expect(needsBackToSource([peer('p')], selection, false)).toBe(true);
  });

  it('needs none while a holder of a grant, a seed or a finished peer is reachable', () => {
    expect(needsBackToSource([peer('p', { source: true })], selection, false)).toBe(false);
    expect(needsBackToSource([peer('p', { seed: true })], selection, false)).toBe(false);
    expect(needsBackToSource([peer('p', { finished: true })], selection, true)).toBe(false);
  });

  it('does not believe a peer finished before the manifest is complete', () => {
    expect(needsBackToSource([peer('p', { finished: true })], selection, false)).toBe(true);
    expect(needsBackToSource([peer('p', { finished: true, source: true })], selection, false)).toBe(false);
  });

  it('ignores stale, failed, other-site and blocked peers, and the asker itself', () => {
    const unusable = [
      peer('stale', { source: true, updatedAt: now - 60_000 }),
      peer('failed', { source: true, failed: true }),
      peer('far', { source: true, site: 'b' }),
      peer('bad', { source: true }),
      peer('me', { source: true }),
    ];
    expect(needsBackToSource(unusable, { ...selection, blocked: new Set(['bad']) }, true)).toBe(true);
  });
});

describe('planBackToSource', () => {
  it('has a newcomer wait for a coming seed', () => {
    expect(planBackToSource({ seed: false, seedComing: true, holdsLease: false })).toBe('defer');
  });

  it('lets a holder renew, a seed go first, and anyone try when no seed is coming', () => {
    expect(planBackToSource({ seed: false, seedComing: true, holdsLease: true })).toBe('acquire');
    expect(planBackToSource({ seed: true, seedComing: true, holdsLease: false })).toBe('acquire');
    expect(planBackToSource({ seed: false, seedComing: false, holdsLease: false })).toBe('acquire');
  });
});
