import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import { LocalStack } from '../local/local-stack.ts';
import { EcrStandIn } from '../local/registry/ecr-standin.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';
import { startRogueAttester } from './fixtures/rogue-attester.ts';

const MiB = 1024 * 1024;
const REGISTRY_NAME = 'registry.test';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * Registry blobs under attack (issue 19, "Authorisation"): a local user without registry
 * credentials, and a fleet host with credentials that holds a blob's lease and attests bytes
 * of its own. The ECR stand-in (docker-registry on S3, 307 redirects, Basic auth), the real
 * scheduler and manager, real agents, and a rogue process speaking the scheduler and peer wire.
 */
describe('registry trust', () => {
  let stack: LocalStack;
  let ecr: EcrStandIn;
  let ecrRoot = '';
  const upstreams = () => ({ MAYFLY_REGISTRY_UPSTREAMS: `${REGISTRY_NAME}=${ecr.registryUrl}` });
  const basic = () => `Basic ${Buffer.from(ecr.credentials!).toString('base64')}`;
  const mirrorBlob = (agent: AgentProcess, repository: string, digest: string) => `${agent.registryUrl}/v2/${repository}/blobs/${digest}?ns=${REGISTRY_NAME}`;

  beforeAll(async () => {
    ecrRoot = await mkdtemp(join(tmpdir(), 'mayfly-ecr-trust-'));
    ecr = await EcrStandIn.start(ecrRoot, { token: 'ecr-token-456' });
    stack = await LocalStack.start({
      schedulerSettings: { allowedOrigins: ['mayfly-demo', `registry+${ecr.registryUrl}/demo/`, `registry-storage+${ecr.s3.endpoint}/`] },
    });
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
    await ecr?.stop();
    if (ecrRoot) await rm(ecrRoot, { recursive: true, force: true });
  }, 60_000);

  it('a local user without registry credentials gets no blob through the local API or `mayfly get`, even one the agent holds', async () => {
    const image = await ecr.pushImage('demo/private', 'v1', [6 * MiB]);
    const layer = image.layers[0];
    // The data directory where a packaged agent keeps it (under a folder every user may enter, like /var/lib).
    const shared = await mkdtemp(join(tmpdir(), 'mayfly-var-lib-'));
    await chmod(shared, 0o755);
    const dataDir = join(shared, 'mayfly');
    const agent = await stack.startAgent('reg-local', { ...upstreams(), MAYFLY_DATA_DIR: dataDir });
    // A user with the registry's credentials pulls the layer through the mirror: the agent now holds it.
    const allowed = await fetch(mirrorBlob(agent, 'demo/private', layer.digest), { headers: { authorization: basic() } });
    expect(allowed.status).toBe(200);
    expect(`sha256:${sha256(Buffer.from(await allowed.arrayBuffer()))}`).toBe(layer.digest);

    // Another local user, with no credentials: the mirror asks the registry, which says 401.
    expect((await fetch(mirrorBlob(agent, 'demo/private', layer.digest))).status).toBe(401);
    // The same blob by its task URL through the local API and the CLI.
    const blobUrl = `${ecr.registryUrl}/v2/demo/private/blobs/${layer.digest}`;
    const viaApi = await fetch(`${agent.apiUrl}/v1/objects?url=${encodeURIComponent(blobUrl)}`);
    const body = Buffer.from(await viaApi.arrayBuffer());
    expect(viaApi.status).toBe(403);
    expect(body.toString()).toMatch(/registry mirror/);
    const output = join(stack.root, 'stolen-layer.bin');
    const cli = await runMayfly(['get', blobUrl, '-o', output, '-q'], { PATH: process.env.PATH, MAYFLY_API: agent.apiUrl });
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(/registry mirror/);
    await expect(stat(output)).rejects.toThrow(/ENOENT/);

    // Nor from the agent's cache on disk: its tasks folder is the agent user's only.
    expect((await stat(join(dataDir, 'tasks'))).mode & 0o077).toBe(0);
    // Where the test runs as root (CI does), also as another user: the agent runs as root, the user as nobody.
    if (process.getuid?.() === 0) {
      const [taskId] = await readdir(join(dataDir, 'tasks'));
      const read = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'head', '-c', '64', join(dataDir, 'tasks', taskId, 'data')]);
      expect(read.status).not.toBe(0);
      expect(read.stderr.toString()).toMatch(/Permission denied/);
      expect(read.stdout.length).toBe(0);
    }
    await rm(shared, { recursive: true, force: true });
  }, 180_000);

  it('a Range read of a blob whose lease holder attested bytes of its own is never answered with those bytes', async () => {
    const image = await ecr.pushImage('demo/poisoned', 'v1', [9 * MiB]);
    const layer = image.layers[0];
    const real = await readFile(join(image.dir, 'blobs', 'sha256', layer.digest.slice('sha256:'.length)));
    const blobUrl = `${ecr.registryUrl}/v2/demo/poisoned/blobs/${layer.digest}`;
    // The rogue host may pull the image (it has the registry's credentials): its proof is genuine.
    const redirect = await fetch(blobUrl, { headers: { authorization: basic() }, redirect: 'manual' });
    expect(redirect.status).toBe(307);
    const proof = new URL(redirect.headers.get('location')!, blobUrl).href;
    const rogue = await startRogueAttester({
      peerId: 'rogue-registry',
      schedulerUrl: stack.scheduler.url,
      token: await stack.agentToken('rogue-registry'),
      url: blobUrl,
      leaseSite: 'default',
      site: 'default',
      registryProof: proof,
    });
    try {
      // It holds the lease and is the first to attest: its digests are taken (the blob's digest is the root).
      expect(rogue.granted).toBe(true);
      expect(rogue.publishStatus).toBe(200);
      const honest = await stack.startAgent('reg-honest', upstreams());
      // containerd resuming from the start; redirects followed, as a runtime follows the registry's 307.
      const offset = 1 * MiB + 7;
      const ranged = await fetch(mirrorBlob(honest, 'demo/poisoned', layer.digest), { headers: { authorization: basic(), range: `bytes=${offset}-` } });
      const bytes = Buffer.from(await ranged.arrayBuffer());
      expect(ranged.status).toBe(206);
      expect(sha256(bytes)).toBe(sha256(real.subarray(offset)));
      const whole = await fetch(mirrorBlob(honest, 'demo/poisoned', layer.digest), { headers: { authorization: basic() } });
      expect(`sha256:${sha256(Buffer.from(await whole.arrayBuffer()))}`).toBe(layer.digest);
    } finally {
      await rogue.stop();
    }
  }, 180_000);

  it('a blob whose stored bytes do not match its digest is read from the registry storage once: the mirror falls back to the registry, and the runtime\'s retries are not pulled again', async () => {
    const image = await ecr.pushImage('demo/tampered', 'v1', [5 * MiB]);
    const layer = image.layers[0];
    const hex = layer.digest.slice('sha256:'.length);
    const stored = `/registry/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
    // A rogue registry storage: the layer's bytes replaced (same size), so its 307 leads to other bytes.
    const s3 = new S3Client({ endpoint: ecr.s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    await s3.send(new PutObjectCommand({ Bucket: 'registry', Key: stored.slice('/registry/'.length), Body: randomBytes(layer.size) }));
    s3.destroy();
    const agent = await stack.startAgent('reg-tampered', upstreams());
    ecr.s3.reset();
    const reads: Array<{ gets: number; bytes: number }> = [];
    // The runtime's first try, then its retries (containerd and skopeo try a failed layer again).
    for (let attempt = 0; attempt < 3; attempt++) {
      const answer = await fetch(mirrorBlob(agent, 'demo/tampered', layer.digest), { headers: { authorization: basic() }, redirect: 'manual' });
      await answer.arrayBuffer();
      // Never the swarm's bytes: the registry's own redirect, so the runtime sees the registry's answer.
      expect(answer.status).toBe(307);
      expect(answer.headers.get('location')).toMatch(new RegExp(`/${hex}/data`));
      reads.push({ gets: ecr.s3.requestsBy('GET', stored), bytes: ecr.s3.bytesOut() });
    }
    // The mirror read the stored blob once (one GET per piece), and not again for the retries.
    expect(reads[0].gets).toBeGreaterThan(0);
    expect(reads[0].bytes).toBeLessThanOrEqual(layer.size * 1.05);
    expect(reads.slice(1)).toEqual([reads[0], reads[0]]);
  }, 180_000);
});
