import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import type { Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';
import { waitUntil } from './fixtures/wait-until.ts';

const KiB = 1024;
/** Small pulls: enough cached tasks that anything kept per task (a descriptor, an announce) stands out. */
const PULLS = 100;
/** The agent's pool of open data files here (MAYFLY_OPEN_FILES): well below PULLS, so one handle per task would show. */
const OPEN_FILES = 16;

/** Open descriptors of a process, counted in /proc (Linux). */
async function openDescriptors(pid: number | undefined): Promise<number> {
  if (pid === undefined) throw new Error('the agent has no pid');
  return (await readdir(`/proc/${pid}/fd`)).length;
}

/** GET /v1/objects: pulls the object into the agent's cache and reads it back; returns the bytes read. */
async function pull(agent: AgentProcess, url: string): Promise<number> {
  const response = await fetch(`${agent.apiUrl}/v1/objects?url=${encodeURIComponent(url)}`);
  if (!response.ok) throw new Error(`${agent.name}: pull of ${url} answered ${response.status}: ${await response.text()}`);
  return (await response.arrayBuffer()).byteLength;
}

/** Runs `work` over `items`, `width` at a time. */
async function inBatches<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(work));
}

interface CacheView {
  tasks: Array<{ taskId: string; url: string; complete: boolean }>;
}

/**
 * Issue 15 case 4: what an agent costs does not grow with its cache. Descriptors stay
 * bounded after hundreds of pulls, a lookup leaves nothing behind, and an idle agent
 * seeding many tasks costs the scheduler a constant number of requests per interval,
 * yet is still found as their parent after a restart.
 */
describe('costs that do not grow with the cache', () => {
  let stack: LocalStack;
  let agent: AgentProcess;
  const objects: Artifact[] = [];
  const cache = async (target = agent): Promise<CacheView> => (await fetch(`${target.apiUrl}/v1/cache`)).json() as Promise<CacheView>;

  beforeAll(async () => {
    stack = await LocalStack.start();
    for (let i = 0; i < PULLS; i += 20) {
      objects.push(...(await Promise.all(Array.from({ length: 20 }, (_, j) => stack.putArtifact(`idle/small-${i + j}.bin`, 4 * KiB, `small-${i + j}`)))));
    }
    agent = await stack.startAgent('holder', { MAYFLY_OPEN_FILES: String(OPEN_FILES) });
  }, 120_000);
  afterAll(async () => stack?.stop());

  it(`keeps open descriptors bounded after ${PULLS} small pulls, and a HEAD leaves nothing in the cache`, async () => {
    const before = await openDescriptors(agent.pid);
    await inBatches(objects, 4, async (object) => {
      expect(await pull(agent, object.url)).toBe(object.size);
    });
    expect((await cache()).tasks.filter((task) => task.complete)).toHaveLength(PULLS);
    const after = await openDescriptors(agent.pid);
    // One handle per cached task would be PULLS more; the pool keeps at most OPEN_FILES data files open (plus sockets).
    expect(after, `descriptors went from ${before} to ${after}`).toBeLessThan(before + OPEN_FILES + 30);

    const looked = await stack.putArtifact('idle/looked-at.bin', 4 * KiB);
    for (let i = 0; i < 20; i++) {
      const head = await fetch(`${agent.s3Url}/${stack.bucket}/${looked.key}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
    }
    expect((await cache()).tasks.map((task) => task.url)).not.toContain(looked.url);
    expect(await openDescriptors(agent.pid)).toBeLessThan(before + OPEN_FILES + 30);
  }, 480_000);

  it(`an idle agent seeding ${PULLS} tasks costs the scheduler O(1) requests per heartbeat interval`, async () => {
    // Let the pulls' finishing announces settle, then count everything the agent sends the scheduler.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const windowMs = 20_000;
    const start = stack.schedulerProxy.requests();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const requests = stack.schedulerProxy.requests() - start;
    const beats = windowMs / stack.heartbeatIntervalMs;
    // One heartbeat per interval (plus slack); a per-task announce every 10 s would be 2 × PULLS in the window.
    expect(requests, `${requests} scheduler requests in ${windowMs / 1000} s from an idle agent with ${PULLS} cached tasks`).toBeLessThanOrEqual(2 * beats + 5);
  }, 60_000);

  it('after a restart the cached tasks are announced without a burst, and a new agent pulls one from the seed, not S3', async () => {
    await agent.stop();
    // The stopping agent's leave calls may still be reaching the proxy: count from a quiet second on.
    let seen = -1;
    await waitUntil(async () => {
      const now = stack.schedulerProxy.requests();
      const quiet = now === seen;
      seen = now;
      if (!quiet) await new Promise((resolve) => setTimeout(resolve, 1_000));
      return quiet;
    }, 60_000);
    const start = stack.schedulerProxy.requests();
    await agent.start();
    // Graceful stop left every swarm: the heartbeat names the cached tasks unknown, and they come back about 10 a second.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const early = stack.schedulerProxy.requests() - start;
    expect(early, `${early} scheduler requests in the first 3 s after a restart with ${PULLS} cached tasks`).toBeLessThan(PULLS / 2);
    const auth = { authorization: `Bearer ${stack.token}` };
    const target = objects[7];
    await waitUntil(async () => {
      const swarm = (await (await fetch(`${stack.scheduler.url}/v1/tasks?url=${encodeURIComponent(target.url)}`, { headers: auth })).json()) as { peers?: { peerId: string; finished: boolean; addr: string }[] };
      return swarm.peers?.some((peer) => peer.peerId === 'holder' && peer.finished && peer.addr.endsWith(`:${agent.peerPort}`)) ?? false;
    }, 90_000);
    const child = await stack.startAgent('child');
    const originBefore = stack.origin.bytesOut();
    expect(await pull(child, target.url)).toBe(target.size);
    expect(stack.origin.bytesOut() - originBefore, 'bytes S3 served the new agent').toBe(0);
  }, 180_000);
});
