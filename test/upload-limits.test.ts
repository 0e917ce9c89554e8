import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess } from '../local/agent-process.ts';
import { LocalStack } from '../local/local-stack.ts';
import { pullThrough, sha256File } from '../local/swarm-pull.ts';
import { RudeChildren } from './fixtures/rude-child.ts';
import { waitUntil } from './fixtures/wait-until.ts';

const MiB = 1024 * 1024;

/** Uploads have deadlines and caps: rude children cannot take a parent's upload slots, descriptors or local API. */
describe('upload limits', () => {
  let stack: LocalStack;
  const logs = new Map<string, string[]>();

  beforeAll(async () => {
    stack = await LocalStack.start({ onAgentLog: (agent, line) => logs.set(agent, [...(logs.get(agent) ?? []).slice(-500), line]) });
  });
  afterAll(async () => stack?.stop());

  /** A source agent holding a 16 MiB object (four 4 MiB pieces), and the task id. */
  const source = async (name: string, key: string, env: NodeJS.ProcessEnv = {}) => {
    const artifact = await stack.putArtifact(key, 16 * MiB, key);
    const agent = await stack.startAgent(name, env);
    await pullThrough(agent, artifact.url, join(stack.root, `${name}.bin`));
    const listing = (await (await fetch(`${agent.apiUrl}/v1/tasks`)).json()) as { tasks: Array<{ taskId: string; url: string }> };
    return { artifact, agent, taskId: listing.tasks.find((task) => task.url === artifact.url)!.taskId };
  };

  /** A new agent pulls the object; it must get the right bytes, some of them from the swarm. */
  const childPulls = async (name: string, artifact: { url: string; sha256: string }) => {
    const child = await stack.startAgent(name);
    const output = join(stack.root, `${name}.bin`);
    const result = await pullThrough(child, artifact.url, output);
    expect(await sha256File(output)).toBe(artifact.sha256);
    return result;
  };

  it('frees the upload slot of every child that hangs up mid-piece, and serves one piece per child at a time', { timeout: 120_000 }, async () => {
    const { artifact, agent, taskId } = await source('hangup-source', 'uploads/hangup.bin');
    const rude = new RudeChildren(agent.peerPort, stack.peerSecret);
    try {
      const statuses: string[] = [];
      // Sixteen hang-ups at different points of a piece, four at once: more than the 14 that used to leak every slot.
      for (let round = 0; round < 4; round++) {
        statuses.push(...(await Promise.all([0, 1, 2, 3].map((index) => rude.hangUpAfter(taskId, index, `rude-${round}-${index}`, (round * 4 + index + 1) * 96 * 1024)))));
        await waitUntil(async () => (await rude.uploads()) === 0, 20_000);
      }
      expect(statuses.filter((status) => status.includes(' 200 '))).toHaveLength(16);

      // A child that does not read holds one slot (until the floor cuts it, 10 s by default), never a second one.
      rude.neverRead(taskId, 0, 'greedy');
      await waitUntil(async () => (await rude.uploads()) === 1, 20_000);
      const piece = (child: string) => fetch(`http://127.0.0.1:${agent.peerPort}/v1/tasks/${taskId}/pieces/1`, { headers: { 'x-mayfly-peer-credential': rude.credential(taskId, child) } });
      const again = await piece('greedy');
      expect(again.status).toBe(503);
      await again.body?.cancel();
      const other = await piece('polite');
      expect(other.status).toBe(200);
      expect((await other.arrayBuffer()).byteLength).toBe(4 * MiB);

      const result = await childPulls('hangup-child', artifact);
      expect(result.bytesFromPeers).toBeGreaterThan(0);
    } finally {
      rude.close();
    }
  });

  it('cuts children that never read once they fall below the floor', { timeout: 120_000 }, async () => {
    const { artifact, agent, taskId } = await source('stall-source', 'uploads/stall.bin', { MAYFLY_UPLOAD_STALL: '2' });
    const rude = new RudeChildren(agent.peerPort, stack.peerSecret);
    try {
      for (const index of [0, 1, 2, 3]) rude.neverRead(taskId, index, `sleeper-${index}`);
      await waitUntil(async () => (await rude.uploads()) === 4, 20_000);
      // Cut below the floor: the slots come back although the children never hung up.
      await waitUntil(async () => (await rude.uploads()) === 0, 30_000);
      const result = await childPulls('stall-child', artifact);
      expect(result.bytesFromPeers).toBeGreaterThan(0);
    } finally {
      rude.close();
    }
  });

  it('keeps the local API and pulls working while the peer port is flooded with idle connections', { timeout: 120_000 }, async () => {
    const name = 'flooded';
    await stack.agentToken(name);
    // 512 descriptors: the default connection cap (half of them) keeps the rest for the cache and the local API.
    const agent = new AgentProcess({ name, env: stack.agentEnv(name), maxOpenFiles: 512, onLog: (line) => logs.set(name, [...(logs.get(name) ?? []), line]) });
    await agent.start();
    stack.agents.push(agent);
    const rude = new RudeChildren(agent.peerPort, stack.peerSecret);
    try {
      await rude.idle(1_500);
      expect(rude.open).toBeLessThan(1_500);
      const api = await fetch(`${agent.apiUrl}/v1/tasks`, { signal: AbortSignal.timeout(15_000) });
      expect(api.status).toBe(200);
      const artifact = await stack.putArtifact('uploads/flooded.bin', 8 * MiB, 'flooded');
      const output = join(stack.root, 'flooded.bin');
      await pullThrough(agent, artifact.url, output);
      expect(await sha256File(output)).toBe(artifact.sha256);
      expect((logs.get(name) ?? []).some((line) => line.includes('peer connections refused'))).toBe(true);
    } finally {
      rude.close();
    }
  });
});
