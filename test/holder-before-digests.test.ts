import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { AgentProcess } from '../local/agent-process.ts';
import type { Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';
import { pullThrough, sha256File } from '../local/swarm-pull.ts';
import { startDelayingProxy, type DelayingProxy } from './fixtures/delaying-proxy.ts';
import { waitUntil } from './fixtures/wait-until.ts';

const MiB = 1024 * 1024;

function closedGate(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

/**
 * The back-to-source holder reads every piece before the control plane's digests come (a busy
 * digest service): it stays the swarm's source until they do, and an agent arriving meanwhile
 * waits for its pieces instead of reading S3 a second time (by a grant, or by its own progress
 * deadline).
 */
describe('a holder that read every piece before the digests came', () => {
  let stack: LocalStack;
  let digestFront: DelayingProxy | undefined;
  // Every read of the digest service waits until the test opens the gate.
  let gate = closedGate();

  const manager = async (path: string) => (await fetch(`${stack.manager.url}${path}`, { headers: { authorization: `Bearer ${stack.token}` } })).json() as Promise<any>;

  /** `holder` reads the object while the digests are held; `newcomer` starts once the holder read it all, `heldMs` before the gate opens. */
  async function pullWhileDigestsHeld(artifact: Artifact, holder: AgentProcess, newcomer: AgentProcess, heldMs: number) {
    gate = closedGate();
    stack.origin.reset();
    const first = pullThrough(holder, artifact.url, join(stack.root, `${holder.name}.bin`));
    first.catch(() => {});
    let taskId: string | undefined;
    await waitUntil(async () => (taskId = ((await manager('/v1/tasks')).tasks as any[]).find((task) => task.url === artifact.url)?.id) !== undefined);
    // The holder has read the whole object from S3 and said so; no digest has come yet.
    await waitUntil(async () => ((await manager(`/v1/tasks/${taskId}`)).peers as any[]).some((peer) => peer.peerId === holder.name && peer.progress === 1));
    const second = pullThrough(newcomer, artifact.url, join(stack.root, `${newcomer.name}.bin`));
    second.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, heldMs));
    gate.resolve();
    const [a, b] = await Promise.all([first, second]);
    for (const agent of [holder, newcomer]) expect(await sha256File(join(stack.root, `${agent.name}.bin`))).toBe(artifact.sha256);
    return [a, b];
  }

  beforeAll(async () => {
    stack = await LocalStack.start({
      // A short lease (3 announce intervals, about 3 s) lapses while the digests are held.
      schedulerSettings: { sourceLeaseMs: 1_000 },
      digestS3Front: async (endpoint) => (digestFront = await startDelayingProxy(endpoint, () => gate.promise)),
    });
  });
  afterAll(async () => {
    gate.resolve();
    await stack?.stop();
  });

  it('keeps its lease past its term: the newcomer gets the pieces from it, and S3 serves the object once', async () => {
    const artifact = await stack.putArtifact('holder/before-digests.bin', 12 * MiB);
    const [holder, newcomer] = [await stack.startAgent('first'), await stack.startAgent('second')];
    // Long enough for the newcomer's register and its announces past the holder's lease.
    const [a, b] = await pullWhileDigestsHeld(artifact, holder, newcomer, 8_000);
    expect(digestFront!.delayed()).toBeGreaterThan(0);
    expect(a.bytesFromOrigin).toBe(artifact.size);
    expect(b).toMatchObject({ bytesFromOrigin: 0, bytesFromPeers: artifact.size });
    expect(stack.origin.bytesOut()).toBeLessThanOrEqual(artifact.size * 1.01);
  });

  it('a newcomer whose progress deadline passes while the digests are pending waits for them instead of reading S3', async () => {
    const artifact = await stack.putArtifact('holder/deadline.bin', 12 * MiB);
    // A 2 s progress deadline: the newcomer would read the origin after 3 s without a verified piece.
    const [holder, newcomer] = [await stack.startAgent('third'), await stack.startAgent('fourth', { MAYFLY_PROGRESS_DEADLINE: '2' })];
    const [a, b] = await pullWhileDigestsHeld(artifact, holder, newcomer, 8_000);
    expect(a.bytesFromOrigin).toBe(artifact.size);
    expect(b).toMatchObject({ bytesFromOrigin: 0, bytesFromPeers: artifact.size });
    expect(stack.origin.bytesOut()).toBeLessThanOrEqual(artifact.size * 1.01);
  });
});
