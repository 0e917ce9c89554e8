import { describe, expect, it } from 'vitest';
import type { HostQuery, HostRecord } from '../domain/host-directory.ts';
import { CachedHostDirectory } from './cached-host-directory.ts';

function directoryOf(answer: (query: HostQuery) => HostRecord | undefined | Error) {
  const asked: string[] = [];
  return {
    asked,
    lookup: async (query: HostQuery) => {
      asked.push(query.peerId);
      const value = answer(query);
      if (value instanceof Error) throw value;
      return value;
    },
  };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('CachedHostDirectory', () => {
  it('asks the cloud once per host and ttl, and shares a lookup in flight', async () => {
    let now = 0;
    const inner = directoryOf(() => ({ site: 'az1', addrs: ['10.0.0.1'] }));
    const cached = new CachedHostDirectory(inner, 60_000, 5_000, () => now);
    await Promise.all([cached.lookup({ peerId: 'i-1' }), cached.lookup({ peerId: 'i-1' })]);
    now = 59_000;
    expect(await cached.lookup({ peerId: 'i-1' })).toEqual({ site: 'az1', addrs: ['10.0.0.1'] });
    expect(inner.asked).toEqual(['i-1']);
    now = 61_000;
    await cached.lookup({ peerId: 'i-1' });
    expect(inner.asked).toEqual(['i-1', 'i-1']);
  });

  it('keeps "no such host" only briefly (a new instance may show up late) and keeps no failure', async () => {
    let now = 0;
    let known = false;
    let failing = true;
    const inner = directoryOf(() => (failing ? new Error('throttled') : known ? { site: 'az1', addrs: [] } : undefined));
    const cached = new CachedHostDirectory(inner, 60_000, 5_000, () => now);
    await expect(cached.lookup({ peerId: 'i-2' })).rejects.toThrow('throttled');
    await flush();
    failing = false;
    expect(await cached.lookup({ peerId: 'i-2' })).toBeUndefined();
    await flush();
    known = true;
    now = 4_000;
    expect(await cached.lookup({ peerId: 'i-2' })).toBeUndefined();
    now = 6_000;
    expect(await cached.lookup({ peerId: 'i-2' })).toEqual({ site: 'az1', addrs: [] });
    expect(inner.asked).toHaveLength(3);
  });

  it('keeps ECS tasks of different clusters apart', async () => {
    const inner = directoryOf((query) => ({ site: query.ecsCluster ?? 'ec2', addrs: [] }));
    const cached = new CachedHostDirectory(inner);
    expect((await cached.lookup({ peerId: 't', ecsCluster: 'a' }))?.site).toBe('a');
    expect((await cached.lookup({ peerId: 't', ecsCluster: 'b' }))?.site).toBe('b');
  });
});
