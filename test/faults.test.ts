import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bitfield } from '../core/bitfield.ts';
import { OriginChangedError } from '../core/errors.ts';
import { parseS3Url } from '../core/origin-url.ts';
import { OriginFetcher } from '../agent/origin/origin-fetcher.ts';
import { PieceWriter } from '../agent/cache/piece-writer.ts';
import { artifactStream } from '../local/artifact.ts';
import type { AgentProcess } from '../local/agent-process.ts';
import { LocalStack } from '../local/local-stack.ts';
import { startRoguePeer } from './fixtures/rogue-peer.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';
import { localS3Client } from '../local/s3-server.ts';
import { pullThrough, sha256File, swarmPull } from '../local/swarm-pull.ts';

const MiB = 1024 * 1024;

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function cachedBytes(agent: AgentProcess, url: string): Promise<number> {
  const response = await fetch(`${agent.apiUrl}/v1/tasks`).catch(() => undefined);
  if (!response?.ok) return 0;
  const { tasks } = (await response.json()) as { tasks: Array<{ url: string; completedBytes: number }> };
  return tasks.filter((task) => task.url === url).reduce((sum, task) => sum + task.completedBytes, 0);
}

async function taskIdOn(agent: AgentProcess, url: string): Promise<string | undefined> {
  const listing = (await (await fetch(`${agent.apiUrl}/v1/tasks`)).json()) as { tasks: Array<{ taskId: string; url: string }> };
  return listing.tasks.find((task) => task.url === url)?.taskId;
}

async function publishedDigests(stack: LocalStack, agent: AgentProcess, url: string): Promise<number> {
  const taskId = await taskIdOn(agent, url);
  if (!taskId) return 0;
  const response = await fetch(`${stack.scheduler.url}/v1/tasks/${taskId}/digests`, { headers: { authorization: `Bearer ${stack.token}` } });
  if (!response.ok) return 0;
  return Object.keys(((await response.json()) as { digests?: Record<string, string> }).digests ?? {}).length;
}

/** The scheduler's record of `agent` in the task of `url`. */
async function peerRecord(stack: LocalStack, agent: AgentProcess, url: string): Promise<{ updatedAt: number } | undefined> {
  const taskId = await taskIdOn(agent, url);
  if (!taskId) return undefined;
  const response = await fetch(`${stack.scheduler.url}/v1/tasks/${taskId}`, { headers: { authorization: `Bearer ${stack.token}` } });
  if (!response.ok) return undefined;
  const view = (await response.json()) as { peers: Array<{ peerId: string; updatedAt: number }> };
  return view.peers.find((peer) => peer.peerId === agent.name);
}

/** Each fault injected for real: real processes, real servers, real broken connections. */
describe('faults', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    // originRecheckMs 0: the scheduler notices a changed object at the next announce.
    stack = await LocalStack.start({ schedulerSettings: { originRecheckMs: 0 } });
  });
  afterAll(async () => stack?.stop());

  it('children finish correctly when a parent is SIGKILLed while serving', async () => {
    const artifact = await stack.putArtifact('faults/kill.bin', 48 * MiB);
    const [parent] = await Promise.all([stack.startAgent('kill-parent')]);
    await swarmPull(stack, artifact, [parent]);
    const children = await Promise.all([stack.startAgent('kill-child-1'), stack.startAgent('kill-child-2')]);
    const pulling = swarmPull(stack, artifact, children);
    await waitFor('children to receive bytes', async () => (await cachedBytes(children[0], artifact.url)) > 0);
    await parent.stop('SIGKILL');
    const report = await pulling;
    for (const child of report.agents) expect(child.sha256ok, child.agent).toBe(true);
  });

  it('rejects corrupt pieces and lying bitfields, blocks both parents, and still delivers', async () => {
    const artifact = await stack.putArtifact('faults/rogue.bin', 24 * MiB);
    const honest = await stack.startAgent('honest-source');
    await swarmPull(stack, artifact, [honest]);
    const common = { schedulerUrl: stack.scheduler.url, url: artifact.url };
    // Compromised seeds: each holds its own valid agent token, the operator designated it a seed.
    const rogueToken = (peerId: string) => stack.agentToken(peerId, { seed: true });
    const corrupt = await startRoguePeer({ ...common, mode: 'corrupt', peerId: 'rogue-corrupt', token: await rogueToken('rogue-corrupt') });
    const liar = await startRoguePeer({ ...common, mode: 'liar', peerId: 'rogue-liar', token: await rogueToken('rogue-liar') });
    try {
      const children = await Promise.all([1, 2, 3].map((i) => stack.startAgent(`rogue-child-${i}`)));
      const report = await swarmPull(stack, artifact, children);
      for (const child of report.agents) expect(child.sha256ok, child.agent).toBe(true);
      expect(corrupt.pieceRequests()).toBeGreaterThan(0);
      expect(liar.pieceRequests()).toBeGreaterThan(0);

      const announce = await fetch(`${stack.scheduler.url}/v1/announce`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await stack.agentToken('newcomer')}` },
        body: JSON.stringify({ url: artifact.url, peerId: 'newcomer', addr: 'http://127.0.0.1:9', event: 'register' }),
      });
      const answer = (await announce.json()) as { task: { id: string }; parents: Array<{ peerId: string }> };
      const view = await (await fetch(`${stack.scheduler.url}/v1/tasks/${answer.task.id}`, { headers: { authorization: `Bearer ${stack.token}` } })).json();
      expect([...view.blocked].sort()).toEqual(['rogue-corrupt', 'rogue-liar']);
      expect(answer.parents.map((p) => p.peerId)).not.toContain('rogue-corrupt');
      expect(answer.parents.map((p) => p.peerId)).not.toContain('rogue-liar');
      // Withheld from everyone once several children reported it, yet never refused the object itself (issue 13, case 4).
      expect(corrupt.lastAnnounceStatus()).toBe(200);
    } finally {
      await corrupt.stop();
      await liar.stop();
    }
  });

  it('falls back to S3 when the scheduler is down, and uses the swarm again when it is back', async () => {
    const artifact = await stack.putArtifact('faults/no-scheduler.bin', 12 * MiB);
    const agent = await stack.startAgent('lonely');
    stack.schedulerProxy.setFault({ kind: 'reset' });
    try {
      const started = Date.now();
      const report = await swarmPull(stack, artifact, [agent]);
      expect(report.agents[0].sha256ok).toBe(true);
      expect(report.agents[0].bytesFromOrigin).toBe(artifact.size);
      // The register is retried for 8-16 s (agent/task/swarm-entry.ts) before the agent reads S3 itself,
      // piece by piece while it keeps asking (agent/task/outage-pace.ts: 3 pieces take about 20 s more).
      expect(Date.now() - started).toBeLessThan(75_000);
    } finally {
      stack.schedulerProxy.setFault(undefined);
    }
    // The scheduler is back: a pull by the same agent registers the cached task, and others use it.
    await swarmPull(stack, artifact, [agent]);
    const later = await stack.startAgent('back-online');
    const report = await swarmPull(stack, artifact, [later]);
    expect(report.agents[0].sha256ok).toBe(true);
    // The direct pull's pieces are offered once checked against the control plane's digests
    // (test/direct-pull-sharing.test.ts); until then the later agent reads S3.
    expect(report.agents[0].bytesFromPeers + report.agents[0].bytesFromOrigin).toBe(artifact.size);
  });

  it('completes when the scheduler starts failing with 5xx in the middle of a pull', async () => {
    const artifact = await stack.putArtifact('faults/scheduler-5xx.bin', 48 * MiB);
    const agent = await stack.startAgent('mid-5xx');
    const pulling = swarmPull(stack, artifact, [agent]);
    await waitFor('the pull to start', async () => (await cachedBytes(agent, artifact.url)) > 0);
    // The outage starts once at least one piece is shareable (its digest published).
    await waitFor('a published digest', async () => (await publishedDigests(stack, agent, artifact.url)) > 0);
    stack.schedulerProxy.setFault({ kind: 'error500' });
    let outageEnded: number;
    try {
      const report = await pulling;
      expect(report.agents[0].sha256ok).toBe(true);
    } finally {
      stack.schedulerProxy.setFault(undefined);
      outageEnded = Date.now();
    }
    // Back to normal: once the agent has announced again (the scheduler had rightly counted it
    // stale during the outage), the next agent uses the swarm for every piece whose digest was
    // published (pieces whose digests never reached the scheduler are not shared).
    await waitFor('the agent to announce after the outage', async () => ((await peerRecord(stack, agent, artifact.url))?.updatedAt ?? 0) >= outageEnded);
    const next = await stack.startAgent('after-5xx');
    const report = await swarmPull(stack, artifact, [next]);
    expect(report.agents[0].sha256ok).toBe(true);
    expect(report.agents[0].bytesFromPeers).toBeGreaterThan(0);
  });

  it('retries S3 503 SlowDown and broken connections with backoff', async () => {
    const artifact = await stack.putArtifact('faults/slowdown.bin', 20 * MiB);
    const agent = await stack.startAgent('throttled');
    const injectedBefore = stack.origin.faultsInjected();
    stack.origin.setFault({ kind: 'slowdown', every: 2 });
    try {
      const report = await swarmPull(stack, artifact, [agent]);
      expect(report.agents[0].sha256ok).toBe(true);
    } finally {
      stack.origin.setFault(undefined);
    }
    expect(stack.origin.faultsInjected()).toBeGreaterThan(injectedBefore);

    const other = await stack.putArtifact('faults/resets.bin', 20 * MiB);
    const second = await stack.startAgent('reset-victim');
    const before = stack.origin.faultsInjected();
    stack.origin.setFault({ kind: 'reset-midway', every: 3 });
    try {
      const report = await swarmPull(stack, other, [second]);
      expect(report.agents[0].sha256ok).toBe(true);
    } finally {
      stack.origin.setFault(undefined);
    }
    expect(stack.origin.faultsInjected()).toBeGreaterThan(before);
  });

  it('resumes after a restart from the pieces it had verified', async () => {
    const artifact = await stack.putArtifact('faults/restart.bin', 96 * MiB);
    const name = 'restarter';
    let agent = await stack.startAgent(name);
    const pulling = pullThrough(agent, artifact.url, join(stack.root, 'restart-1.bin')).catch(() => undefined);
    // Kill once the agent's own state file records verified pieces (what a restart can trust).
    let verifiedBeforeKill = 0;
    const tasksDir = join(stack.root, 'agents', name, 'tasks');
    await waitFor('verified pieces on disk', async () => {
      for (const taskDir of existsSync(tasksDir) ? readdirSync(tasksDir) : []) {
        const state = await readFile(join(tasksDir, taskDir, 'state.json'), 'utf8').then(JSON.parse, () => undefined);
        if (!state) continue;
        verifiedBeforeKill = Bitfield.fromBase64(state.task.pieceCount, state.bitfield).count * state.task.pieceLength;
      }
      return verifiedBeforeKill >= 8 * MiB;
    });
    await agent.stop('SIGKILL');
    await pulling;
    expect(verifiedBeforeKill).toBeLessThan(artifact.size);
    agent = await stack.startAgent(name);
    const output = join(stack.root, 'restart-2.bin');
    const result = await pullThrough(agent, artifact.url, output);
    expect(await sha256File(output)).toBe(artifact.sha256);
    const refetched = result.bytesFromOrigin + result.bytesFromPeers;
    // At most the pieces in flight at the kill (8 origin reads of 4 MiB) come again.
    expect(refetched).toBeLessThanOrEqual(artifact.size - verifiedBeforeKill + 8 * 4 * MiB);
    expect(refetched).toBeLessThan(artifact.size);
  });

  it('never mixes versions: a changed object is a new task with the new bytes', async () => {
    const v1 = await stack.putArtifact('faults/changing.bin', 9 * MiB, 'version-1');
    const agent = await stack.startAgent('versions');
    const first = await pullThrough(agent, v1.url, join(stack.root, 'v1.bin'));
    expect(await sha256File(join(stack.root, 'v1.bin'))).toBe(v1.sha256);
    const v2 = await stack.putArtifact('faults/changing.bin', 9 * MiB, 'version-2');
    const second = await pullThrough(agent, v2.url, join(stack.root, 'v2.bin'));
    expect(await sha256File(join(stack.root, 'v2.bin'))).toBe(v2.sha256);
    expect((second as unknown as { taskId: string }).taskId).not.toBe((first as unknown as { taskId: string }).taskId);

    // Mid-pull: a piece read pinned to the old ETag is refused once the object has changed.
    const fetcher = new OriginFetcher({ s3: localS3Client(stack.origin.endpoint), attempts: 1 });
    const staleTask = { id: 'f'.repeat(64), url: v1.url, size: v1.size, etag: '"stale-etag"', pieceLength: 4 * MiB, pieceCount: 3 };
    await mkdir(join(stack.root, 'stale'), { recursive: true });
    const { open } = await import('node:fs/promises');
    const handle = await open(join(stack.root, 'stale', 'data'), 'w+');
    try {
      await expect(
        fetcher.fetchPiece(staleTask, parseS3Url(v1.url), () => new PieceWriter(handle, { start: 0, end: 4 * MiB }, 'data'), 0),
      ).rejects.toBeInstanceOf(OriginChangedError);
    } finally {
      await handle.close();
    }
  });

  it('fails cleanly when the output folder is missing or the disk is full, and keeps the cache consistent', async () => {
    const { execFileSync } = await import('node:child_process');
    const artifact = await stack.putArtifact('faults/disk.bin', 9 * MiB);
    const agent = await stack.startAgent('disk-output');
    // The caller's process writes the output (`mayfly get`): storage failures are its exit 7.
    const cli = { PATH: process.env.PATH, MAYFLY_API: agent.apiUrl };
    const missing = await runMayfly(['get', artifact.url, '-o', join(stack.root, 'no', 'such', 'dir', 'x.bin')], cli);
    expect(missing.code).toBe(7);
    expect(missing.stderr).toMatch(/does not exist/);

    const small = join(stack.root, 'small-disk');
    const cacheDisk = join(stack.root, 'small-cache');
    await mkdir(small, { recursive: true });
    await mkdir(cacheDisk, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', small]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', cacheDisk]);
    try {
      const full = await runMayfly(['get', artifact.url, '-o', join(small, 'x.bin')], cli);
      expect(full.code).toBe(7);
      expect(full.stderr).toMatch(/disk full/);
      expect(readdirSync(small)).toEqual([]);

      // The cache itself on a disk too small for the object.
      const cramped = await stack.startAgent('disk-cache', { MAYFLY_DATA_DIR: cacheDisk });
      const failed = await fetch(`${cramped.apiUrl}/v1/pulls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: artifact.url }),
      });
      expect(failed.status).toBe(507);
      expect((await fetch(`${cramped.apiUrl}/v1/health`)).status).toBe(200);
      // Every piece the cache claims is verified really holds the object's bytes.
      const [taskDir] = readdirSync(join(cacheDisk, 'tasks'));
      const state = JSON.parse(await readFile(join(cacheDisk, 'tasks', taskDir, 'state.json'), 'utf8'));
      const bitfield = Bitfield.fromBase64(state.task.pieceCount, state.bitfield);
      const data = await readFile(join(cacheDisk, 'tasks', taskDir, 'data')).catch(() => Buffer.alloc(0));
      const chunks: Buffer[] = [];
      for await (const chunk of artifactStream(artifact.size, 'faults/disk.bin')) chunks.push(chunk as Buffer);
      const source = Buffer.concat(chunks);
      for (const index of bitfield.indexes()) {
        const start = index * state.task.pieceLength;
        const end = Math.min(start + state.task.pieceLength, artifact.size);
        const digest = (buffer: Buffer) => createHash('sha256').update(buffer).digest('hex');
        expect(digest(data.subarray(start, end))).toBe(digest(source.subarray(start, end)));
      }
    } finally {
      for (const agent of stack.agents.filter((a) => a.name === 'disk-cache')) await agent.stop();
      execFileSync('umount', ['-l', small]);
      execFileSync('umount', ['-l', cacheDisk]);
    }
    expect(existsSync(join(small, 'x.bin'))).toBe(false);
  });

  it('answers 503 with a retry hint when DynamoDB is down, and agents still pull', async () => {
    const artifact = await stack.putArtifact('faults/no-dynamo.bin', 9 * MiB);
    const agent = await stack.startAgent('no-dynamo');
    const token = await stack.agentToken('x');
    await stack.dynamo.stop();
    const response = await fetch(`${stack.scheduler.url}/v1/announce`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ url: artifact.url, peerId: 'x', addr: 'http://127.0.0.1:9', event: 'register' }),
    });
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await response.json()).message).toMatch(/state store unavailable/);
    const report = await swarmPull(stack, artifact, [agent]);
    expect(report.agents[0].sha256ok).toBe(true);
  });
});
