import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactStream, type Artifact } from '../local/artifact.ts';
import type { AgentProcess } from '../local/agent-process.ts';
import { LocalStack } from '../local/local-stack.ts';
import { pullThrough, sha256File } from '../local/swarm-pull.ts';
import { waitUntil } from '../local/wait-until.ts';
import { startRoguePeer, type RogueMode } from './fixtures/rogue-peer.ts';

const MiB = 1024 * 1024;
/** Far above what these pulls need (a few seconds), far below "forever". */
const BOUND_MS = 75_000;

/** No pull waits forever: a parent that claims the task and does not deliver it is dropped, and the pull reads S3. */
describe('stuck pulls', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await LocalStack.start();
  });
  afterAll(async () => stack?.stop());

  /** Pulls through `agent` and fails (instead of hanging) if that takes longer than BOUND_MS. */
  const boundedPull = async (agent: AgentProcess, artifact: Artifact) => {
    const output = join(stack.root, `${agent.name}.bin`);
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${agent.name}: the pull did not finish within ${BOUND_MS} ms`)), BOUND_MS);
    });
    try {
      const result = await Promise.race([pullThrough(agent, artifact.url, output), bound]);
      return { result, sha256: await sha256File(output) };
    } finally {
      clearTimeout(timer);
    }
  };

  const blockedIn = async (taskId: string): Promise<string[]> => {
    const response = await fetch(`${stack.scheduler.url}/v1/tasks/${taskId}`, { headers: { authorization: `Bearer ${stack.token}` } });
    return ((await response.json()) as { blocked: string[] }).blocked;
  };

  const withRogue = async (mode: RogueMode, key: string, childEnv: NodeJS.ProcessEnv) => {
    // 3 pieces of 4 MiB: the stalling rogue's fixed piece length fits every piece.
    const artifact = await stack.putArtifact(key, 12 * MiB, key);
    const peerId = `rogue-${mode}`;
    const rogue = await startRoguePeer({ mode, peerId, schedulerUrl: stack.scheduler.url, url: artifact.url, token: await stack.agentToken(peerId, { seed: true }) });
    try {
      const child = await stack.startAgent(`${mode}-child`, childEnv);
      const { result, sha256 } = await boundedPull(child, artifact);
      const listing = (await (await fetch(`${child.apiUrl}/v1/tasks`)).json()) as { tasks: Array<{ taskId: string; url: string }> };
      const taskId = listing.tasks.find((task) => task.url === artifact.url)!.taskId;
      return { artifact, result, sha256, rogue, blocked: await blockedIn(taskId) };
    } finally {
      await rogue.stop();
    }
  };

  it('stops asking a parent that claims the task but answers task-level 404s, and reads S3', { timeout: 120_000 }, async () => {
    const { artifact, result, sha256, rogue, blocked } = await withRogue('gone', 'stuck/gone.bin', {});
    expect(sha256).toBe(artifact.sha256);
    expect(result.bytesFromOrigin).toBe(artifact.size);
    // Asked once (a request or two may already be on their way), not over and over.
    expect(rogue.pieceRequests()).toBeLessThanOrEqual(3);
    // Unreachable is not corrupt: the scheduler did not block it.
    expect(blocked).not.toContain(rogue.peerId);
  });

  it('drops a parent that never finishes a piece at the progress deadline, and reads S3', { timeout: 120_000 }, async () => {
    const { artifact, result, sha256, rogue, blocked } = await withRogue('stall', 'stuck/stall.bin', { MAYFLY_PROGRESS_DEADLINE: '4' });
    expect(sha256).toBe(artifact.sha256);
    expect(result.bytesFromOrigin).toBe(artifact.size);
    expect(rogue.pieceRequests()).toBeGreaterThan(0);
    expect(blocked).not.toContain(rogue.peerId);
  });

  it('keeps slow parents whose every piece takes longer than the deadline while the pull moves a piece per deadline', { timeout: 120_000 }, async () => {
    // 3 pieces of 4 MiB from three honest parents at 640 KiB/s each: a piece takes 6.4 s, the
    // deadline is 4 s, and the three together move a piece's worth every 2.1 s.
    const key = 'stuck/slow.bin';
    const artifact = await stack.putArtifact(key, 12 * MiB, key);
    const chunks: Buffer[] = [];
    for await (const chunk of artifactStream(artifact.size, key)) chunks.push(chunk as Buffer);
    const content = Buffer.concat(chunks);
    const rogues = await Promise.all(
      ['slow-a', 'slow-b', 'slow-c'].map(async (peerId) =>
        startRoguePeer({ mode: 'slow', peerId, content, schedulerUrl: stack.scheduler.url, url: artifact.url, token: await stack.agentToken(peerId, { seed: true }) }),
      ),
    );
    try {
      // The parents are credible once the control plane's digests are complete.
      await waitUntil(async () => {
        const answer = await fetch(`${stack.scheduler.url}/v1/tasks/${rogues[0]!.taskId()}/digests`, { headers: { authorization: `Bearer ${stack.token}` } });
        return answer.ok && ((await answer.json()) as { digestCount: number }).digestCount === 3;
      }, 30_000);
      const child = await stack.startAgent('slow-child', { MAYFLY_PROGRESS_DEADLINE: '4' });
      const { result, sha256 } = await boundedPull(child, artifact);
      expect(sha256).toBe(artifact.sha256);
      // Before: no whole piece in 4 s, so the pull dropped its parents and read S3.
      expect(result.bytesFromOrigin).toBe(0);
      expect(result.bytesFromPeers).toBe(artifact.size);
    } finally {
      await Promise.all(rogues.map((rogue) => rogue.stop()));
    }
  });
});

