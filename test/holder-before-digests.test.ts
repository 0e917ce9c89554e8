import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { LocalStack } from '../local/local-stack.ts';
import { pullThrough, sha256File } from '../local/swarm-pull.ts';
import { startDelayingProxy, type DelayingProxy } from './fixtures/delaying-proxy.ts';
import { waitUntil } from './fixtures/wait-until.ts';

const MiB = 1024 * 1024;

/**
 * The back-to-source holder reads every piece before the control plane's digests come (a busy
 * digest service): it stays the swarm's source until they do, so an agent arriving meanwhile
 * waits for its pieces instead of being granted a second read of S3.
 */
describe('a holder that read every piece before the digests came', () => {
  let stack: LocalStack;
  let digestFront: DelayingProxy | undefined;
  let releaseDigests: () => void = () => {};
  const digestsHeld = new Promise<void>((resolve) => (releaseDigests = resolve));

  beforeAll(async () => {
    stack = await LocalStack.start({
      // A short lease (3 announce intervals, about 3 s) lapses while the digests are held.
      schedulerSettings: { sourceLeaseMs: 1_000 },
      // Every read of the digest service waits until the test lets it through.
      digestS3Front: async (endpoint) => (digestFront = await startDelayingProxy(endpoint, () => digestsHeld)),
    });
  });
  afterAll(async () => {
    releaseDigests();
    await stack?.stop();
  });

  it('keeps its lease: a newcomer gets the pieces from it, and S3 serves the object once', async () => {
    const artifact = await stack.putArtifact('holder/before-digests.bin', 12 * MiB);
    const [first, second] = [await stack.startAgent('first'), await stack.startAgent('second')];
    stack.origin.reset();
    const firstPull = pullThrough(first, artifact.url, join(stack.root, 'first.bin'));
    firstPull.catch(() => {});

    const manager = async (path: string) => (await fetch(`${stack.manager.url}${path}`, { headers: { authorization: `Bearer ${stack.token}` } })).json() as Promise<any>;
    let taskId: string | undefined;
    await waitUntil(async () => (taskId = ((await manager('/v1/tasks')).tasks as any[]).find((task) => task.url === artifact.url)?.id) !== undefined);
    // The holder has read the whole object from S3 and said so; no digest has come yet.
    await waitUntil(async () => ((await manager(`/v1/tasks/${taskId}`)).peers as any[]).some((peer) => peer.peerId === 'first' && peer.progress === 1));
    expect(digestFront!.delayed()).toBeGreaterThan(0);

    const secondPull = pullThrough(second, artifact.url, join(stack.root, 'second.bin'));
    secondPull.catch(() => {});
    // Long enough for the newcomer's register and its announces past the holder's lease (about 3 s).
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    releaseDigests();

    const [a, b] = await Promise.all([firstPull, secondPull]);
    expect(a.bytesFromOrigin).toBe(artifact.size);
    expect(b.bytesFromOrigin).toBe(0);
    expect(b.bytesFromPeers).toBe(artifact.size);
    for (const output of ['first.bin', 'second.bin']) expect(await sha256File(join(stack.root, output))).toBe(artifact.sha256);
    expect(stack.origin.bytesOut()).toBeLessThanOrEqual(artifact.size * 1.01);
  });
});
