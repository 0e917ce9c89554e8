import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import type { Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';
import { swarmPull } from '../local/swarm-pull.ts';

const MiB = 1024 * 1024;

/** Seed agents as real processes: they read S3 for their site, take preheat jobs, and report metrics. */
describe('seed agents', () => {
  let stack: LocalStack;
  let seed: AgentProcess;
  let normals: AgentProcess[];
  const agentLogs: string[] = [];

  const manager = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.manager.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${stack.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const jobDone = (id: string, cluster = 'default') =>
    waitFor(`preheat job ${id}`, async () => {
      const { body } = await manager('GET', `/v1/preheats/${id}?cluster=${cluster}`);
      if (body.state === 'failed') throw new Error(`preheat failed: ${body.error}`);
      return body.state === 'done' ? body : undefined;
    });
  const metric = async (agent: AgentProcess, name: string) => {
    const text = await (await fetch(`${agent.apiUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
    if (!line) throw new Error(`${name} missing from /metrics:\n${text}`);
    return Number(line.split(' ').pop());
  };

  beforeAll(async () => {
    stack = await LocalStack.start({ onAgentLog: (agent, line) => agentLogs.push(`${agent} ${line}`) });
    seed = await stack.startAgent('seed-1', { MAYFLY_SEED: 'true' });
    normals = await Promise.all([stack.startAgent('normal-1'), stack.startAgent('normal-2')]);
    // The hosts list shows the seed once its first heartbeat landed.
    await waitFor('the seed heartbeat', async () => {
      const { body } = await manager('GET', '/v1/hosts');
      return body.hosts.some((h: any) => h.peerId === 'seed-1' && h.role === 'seed' && h.live) || undefined;
    });
  });
  afterAll(async () => stack?.stop());

  it('leaves back-to-source to the seed: normal agents get every byte from peers', async () => {
    const artifact = await stack.putArtifact('seed/first.bin', 24 * MiB);
    const report = await swarmPull(stack, artifact, normals);
    for (const agent of report.agents) {
      expect(agent.sha256ok, agent.agent).toBe(true);
      expect(agent.bytesFromOrigin, agent.agent).toBe(0);
    }
    expect(report.originBytes).toBeGreaterThanOrEqual(artifact.size);
    expect(report.originBytes).toBeLessThanOrEqual(1.1 * artifact.size);
    const tasks = (await manager('GET', '/v1/tasks')).body.tasks as any[];
    const task = tasks.find((t) => t.url === artifact.url);
    const swarm = (await manager('GET', `/v1/tasks/${task.id}`)).body;
    const seedPeer = swarm.peers.find((p: any) => p.peerId === 'seed-1');
    expect(seedPeer).toMatchObject({ seed: true, progress: 1 });
    expect(seedPeer.bytesFromOrigin).toBe(artifact.size);
    // The job the scheduler opened for the seed is visible, and done.
    const jobs = (await manager('GET', '/v1/preheats')).body.jobs as any[];
    const trigger = jobs.find((j) => j.url === artifact.url && j.source === 'seed-trigger');
    expect(trigger).toBeDefined();
    await jobDone(trigger.id);
  });

  it('preheats through the manager so the first real pull is warm', async () => {
    const artifact: Artifact = await stack.putArtifact('seed/preheated.bin', 12 * MiB);
    const created = await manager('POST', '/v1/preheats', { url: artifact.url });
    expect(created.status).toBe(201);
    expect(created.body.jobs[0].sites).toEqual(['default']); // the sites with live seeds
    const done = await jobDone(created.body.jobs[0].id);
    expect(done.doneBy).toEqual({ default: 'seed-1' });
    expect(done.taskId).toMatch(/^[0-9a-f]{64}$/);

    const before = stack.origin.bytesOut();
    const report = await swarmPull(stack, artifact, [normals[0]]);
    expect(report.agents[0].sha256ok).toBe(true);
    expect(report.agents[0].bytesFromPeers).toBe(artifact.size);
    expect(stack.origin.bytesOut() - before).toBe(0);
  });

  it('retries a preheat that failed while S3 was down, and completes it once S3 is back', async () => {
    const artifact = await stack.putArtifact('seed/during-outage.bin', 6 * MiB);
    const created = await manager('POST', '/v1/preheats', { url: artifact.url });
    expect(created.status).toBe(201);
    stack.origin.setFault({ kind: 'slowdown' });
    try {
      // One failed attempt spans the seed's next heartbeat, the scheduler's own S3 retries, the
      // register patience (up to 16 s: the origin may come back) and a direct read: up to ~30 s.
      await waitFor(
        'a failed preheat attempt on the seed',
        async () =>
          agentLogs.some((line) => line.startsWith('seed-1 ') && line.includes('preheat attempt failed; retrying') && line.includes(created.body.jobs[0].id)) || undefined,
        60_000,
      );
    } finally {
      stack.origin.setFault(undefined);
    }
    const done = await jobDone(created.body.jobs[0].id, 'default');
    expect(done.doneBy).toEqual({ default: 'seed-1' });
    const cached = (await (await fetch(`${seed.apiUrl}/v1/tasks`)).json()) as { tasks: Array<{ url: string; complete: boolean }> };
    expect(cached.tasks.find((t) => t.url === artifact.url)?.complete).toBe(true);
  });

  it('preheats an object announced by an S3 ObjectCreated event', async () => {
    await manager('PUT', '/v1/clusters/default', { settings: { preheatOrigins: [`${stack.bucket}/releases/`] } });
    const artifact = await stack.putArtifact('releases/v2.tar', 6 * MiB);
    const result = await stack.managerHandle.onS3Event({
      Records: [{ eventName: 'ObjectCreated:CompleteMultipartUpload', s3: { bucket: { name: stack.bucket }, object: { key: 'releases/v2.tar' } } }],
    });
    expect(result.jobs).toHaveLength(1);
    await jobDone(result.jobs[0].id);
    const cached = (await (await fetch(`${seed.apiUrl}/v1/tasks`)).json()) as { tasks: Array<{ url: string; complete: boolean }> };
    expect(cached.tasks.find((t) => t.url === artifact.url)?.complete).toBe(true);
  });

  it('serves Prometheus metrics on each agent', async () => {
    const response = await fetch(`${seed.apiUrl}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/# TYPE mayfly_agent_bytes_from_origin_total counter/);
    expect(text).toContain('peer="seed-1"');
    expect(await metric(seed, 'mayfly_agent_bytes_from_origin_total')).toBe((24 + 12 + 6 + 6) * MiB);
    expect(await metric(seed, 'mayfly_agent_pieces_served_total')).toBeGreaterThan(0);
    expect(await metric(seed, 'mayfly_agent_cache_bytes')).toBe((24 + 12 + 6 + 6) * MiB);
    expect(await metric(seed, 'mayfly_agent_seed')).toBe(1);
    expect(await metric(seed, 'mayfly_agent_active_tasks')).toBe(0);
    // The process's own memory, as the agent reads it (a 20 MB floor: no Node process is smaller).
    expect(await metric(seed, 'mayfly_agent_resident_memory_bytes')).toBeGreaterThan(20e6);
    expect(await metric(seed, 'mayfly_agent_heap_used_bytes')).toBeLessThan(await metric(seed, 'mayfly_agent_heap_total_bytes'));
    expect(await metric(normals[0], 'mayfly_agent_bytes_from_origin_total')).toBe(0);
    expect(await metric(normals[0], 'mayfly_agent_bytes_from_peers_total')).toBe((24 + 12) * MiB);
    expect(await metric(normals[0], 'mayfly_agent_pulls_started_total')).toBe(2);
    expect(await metric(normals[0], 'mayfly_agent_pieces_failed_total')).toBe(0);
  });
});
