import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import { LocalStack } from '../local/local-stack.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';
import { pullThrough } from '../local/swarm-pull.ts';

const MiB = 1024 * 1024;
/** A finished peer heartbeats every 10 s here (ten times the 1 s swarm interval): two of them, and some slack. */
const TWO_SEED_HEARTBEATS_MS = 22_000;

interface SwarmPeer {
  peerId: string;
  updatedAt: number;
}

/** The task manager registers every session it starts, so removing a task stops it, resumed seeding included. */
describe('task registry', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await LocalStack.start();
  });
  afterAll(async () => stack?.stop());

  const peerOf = async (taskId: string, peerId: string): Promise<SwarmPeer | undefined> => {
    const response = await fetch(`${stack.scheduler.url}/v1/tasks/${taskId}`, { headers: { authorization: `Bearer ${stack.token}` } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { peers: SwarmPeer[] };
    return body.peers.find((peer) => peer.peerId === peerId);
  };
  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

  it('stops announcing a task resumed after a restart once `mayfly cache rm` removes it', { timeout: 90_000 }, async () => {
    const object = await stack.putArtifact('registry/resumed.bin', 6 * MiB, 'resumed');
    let agent: AgentProcess = await stack.startAgent('resumer');
    await pullThrough(agent, object.url, join(stack.root, 'resumed.bin'));
    const { tasks } = (await (await fetch(`${agent.apiUrl}/v1/cache`)).json()) as { tasks: Array<{ taskId: string; url: string }> };
    const taskId = tasks.find((task) => task.url === object.url)!.taskId;

    await agent.stop();
    const restartedAt = Date.now();
    agent = await stack.startAgent('resumer');
    // The restarted agent resumes seeding: it announces the cached task at once.
    await waitFor('the resumed announce', async () => ((await peerOf(taskId, 'resumer'))?.updatedAt ?? 0) > restartedAt || undefined);

    const removed = await runMayfly(['cache', 'rm', taskId], { PATH: process.env.PATH, MAYFLY_API: agent.apiUrl });
    expect(removed.code).toBe(0);
    const removedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, TWO_SEED_HEARTBEATS_MS));
    // Left the swarm, or at least announced nothing since the removal.
    const peer = await peerOf(taskId, 'resumer');
    if (peer) expect(peer.updatedAt).toBeLessThan(removedAt);
  });

  it('stops announcing a task resumed after a restart once quota eviction removes it', { timeout: 90_000 }, async () => {
    const object = await stack.putArtifact('registry/evicted.bin', 6 * MiB, 'evicted');
    let agent: AgentProcess = await stack.startAgent('evictee');
    await pullThrough(agent, object.url, join(stack.root, 'evicted.bin'));
    const { tasks } = (await (await fetch(`${agent.apiUrl}/v1/cache`)).json()) as { tasks: Array<{ taskId: string; url: string }> };
    const taskId = tasks.find((task) => task.url === object.url)!.taskId;

    await agent.stop();
    const restartedAt = Date.now();
    // Room for one of the two objects: the next pull evicts the resumed task (least recently used).
    agent = await stack.startAgent('evictee', { MAYFLY_CACHE_QUOTA: '8MiB' });
    await waitFor('the resumed announce', async () => ((await peerOf(taskId, 'evictee'))?.updatedAt ?? 0) > restartedAt || undefined);

    const other = await stack.putArtifact('registry/newer.bin', 6 * MiB, 'newer');
    await pullThrough(agent, other.url, join(stack.root, 'newer.bin'));
    await waitFor('the eviction', async () => {
      const cache = (await (await fetch(`${agent.apiUrl}/v1/cache`)).json()) as { tasks: Array<{ taskId: string }> };
      return cache.tasks.some((task) => task.taskId === taskId) ? undefined : true;
    });
    const evictedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, TWO_SEED_HEARTBEATS_MS));
    const peer = await peerOf(taskId, 'evictee');
    if (peer) expect(peer.updatedAt).toBeLessThan(evictedAt);
  });
});
