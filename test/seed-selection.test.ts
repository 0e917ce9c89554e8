import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/log.ts';
import { selectParents, type PeerCandidate } from '../core/parent-selection.ts';
import { SeedTrigger } from '../lambdas/scheduler/heartbeat-seeds.ts';

/** Seeds first: the pure parts (parent choice, the scheduler's deferral rule) with in-memory fakes. */
describe('seed preference', () => {
  const peer = (peerId: string, extra: Partial<PeerCandidate> = {}): PeerCandidate => ({
    peerId,
    addr: `http://127.0.0.1:${peerId.length}`,
    site: 'a',
    seed: false,
    finished: false,
    source: false,
    failed: false,
    completed: 50,
    uploads: 0,
    updatedAt: 1_000,
    ...extra,
  });
  const options = { selfPeerId: 'me', site: 'a', pieceCount: 100, now: 1_000, staleMs: 10_000, limit: 1 };

  it('ranks a finished seed above a finished normal peer, whatever the jitter', () => {
    for (const jitter of [0, 0.5, 0.999]) {
      let call = 0;
      // Worst case for the seed: the normal peer gets the full jitter, the seed none.
      const random = () => (call++ === 0 ? 0 : jitter);
      const [best] = selectParents([peer('seed', { seed: true, finished: true, completed: 100 }), peer('normal', { finished: true, completed: 100 })], {
        ...options,
        random,
      });
      expect(best.peerId).toBe('seed');
    }
  });

  it('keeps swarms site-local: a seed of another site is never a parent by default', () => {
    const chosen = selectParents([peer('far-seed', { seed: true, finished: true, completed: 100, site: 'b' }), peer('near', { completed: 10 })], {
      ...options,
      limit: 4,
      random: () => 0.5,
    });
    expect(chosen.map((p) => p.peerId)).toEqual(['near']);
  });

  function fakeTrigger(seedsBySite: Record<string, number>, waitMs = 4_000) {
    const opened: string[] = [];
    const trigger = new SeedTrigger({
      hosts: {
        liveSeeds: async (_cluster: string, _since: number, site?: string) =>
          new Map(Object.entries(seedsBySite).filter(([s, n]) => n > 0 && (!site || s === site)).map(([s, n]) => [s, Array.from({ length: n }, (_, i) => `seed-${i}`)])),
      },
      preheat: {
        trigger: async (cluster: string, taskId: string, site: string, _url: string, now: number) => {
          const created = !opened.includes(`${cluster}/${taskId}/${site}`);
          if (created) opened.push(`${cluster}/${taskId}/${site}`);
          return { jobId: 'job', createdAt: created ? now : 0, created };
        },
      },
      log: silentLogger,
      seedStaleMs: 3_000,
      waitMs,
    });
    return { trigger, opened };
  }

  it('defers a normal agent while a live seed of its site was asked to fetch, then stops deferring', async () => {
    const { trigger, opened } = fakeTrigger({ a: 1 });
    expect(await trigger.deferToSeed('c', 'a', 't1', 's3://b/k', 10_000)).toBe(true);
    expect(opened).toEqual(['c/t1/a']);
    expect(await trigger.deferToSeed('c', 'a', 't1', 's3://b/k', 12_000)).toBe(true);
    expect(opened).toHaveLength(1); // one job per (cluster, task, site)
    // The seed did not show up in time: normal agents may read S3 again.
    expect(await trigger.deferToSeed('c', 'a', 't1', 's3://b/k', 14_001)).toBe(false);
  });

  it('never defers where the site has no live seed', async () => {
    const { trigger, opened } = fakeTrigger({ a: 0, b: 2 });
    expect(await trigger.deferToSeed('c', 'a', 't1', 's3://b/k', 10_000)).toBe(false);
    expect(opened).toEqual([]);
  });
});
