import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import { LocalStack } from '../local/local-stack.ts';
import { ContainerdHost } from '../local/registry/containerd-host.ts';
import { EcrStandIn } from '../local/registry/ecr-standin.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';
import type { OciImage } from '../local/registry/oci-image.ts';
import { waitUntil } from './fixtures/wait-until.ts';

const MiB = 1024 * 1024;
const REGISTRY_NAME = 'registry.test';
const REF = `${REGISTRY_NAME}/demo/app:v1`;

interface ServedLine {
  readonly agent: string;
  readonly digest: string;
  readonly status: number;
  readonly bytesFromPeers?: number;
  readonly bytesFromOrigin?: number;
}

/**
 * Image preheat (`POST /v1/preheats {kind: "image"}`) against the ECR stand-in: the manager
 * resolves the tag with its own registry credentials, a seed agent proves its own access to
 * each blob and pulls it, and then containerd pulling through another agent's mirror reads
 * nothing of the image from the registry's storage.
 */
describe('image preheat', () => {
  let stack: LocalStack;
  let ecr: EcrStandIn;
  let image: OciImage;
  let seed: AgentProcess;
  let puller: AgentProcess;
  const runtimes: ContainerdHost[] = [];
  const served: ServedLine[] = [];
  let ecrRoot = '';

  const preheat = (body: object) =>
    fetch(`${stack.manager.url}/v1/preheats`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
      body: JSON.stringify(body),
    });
  const job = async (id: string) =>
    (await (await fetch(`${stack.manager.url}/v1/preheats/${id}`, { headers: { authorization: `Bearer ${stack.token}` } })).json()) as { state: string; error?: string };

  beforeAll(async () => {
    ecrRoot = await mkdtemp(join(tmpdir(), 'mayfly-ecr-'));
    ecr = await EcrStandIn.start(ecrRoot, { token: 'ecr-token-456' });
    image = await ecr.pushImage('demo/app', 'v1', [2 * MiB, 3 * MiB, 24 * MiB]);
    const upstreams = `${REGISTRY_NAME}=${ecr.registryUrl}`;
    const credentials = `${ecr.host}=${ecr.credentials}`;
    const allowedOrigins = ['mayfly-demo', `registry+${ecr.registryUrl}/demo/`, `registry-storage+${ecr.s3.endpoint}/`];
    stack = await LocalStack.start({
      onAgentLog: (agent, line) => {
        if (line.includes('registry blob served from the swarm')) served.push({ agent, ...(JSON.parse(line) as Omit<ServedLine, 'agent'>) });
      },
      schedulerSettings: { allowedOrigins },
      managerRegistries: { upstreams, credentials },
    });
    // The cluster's own allowlist, which the manager checks an image preheat against.
    const put = await fetch(`${stack.manager.url}/v1/clusters/default`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
      body: JSON.stringify({ settings: { allowedOrigins } }),
    });
    if (put.status !== 200) throw new Error(`PUT cluster: ${put.status} ${await put.text()}`);
    // The seed holds credentials of its own; the puller gets its runtime's.
    seed = await stack.startAgent('image-seed', { MAYFLY_SEED: 'true', MAYFLY_REGISTRY_UPSTREAMS: upstreams, MAYFLY_REGISTRY_CREDENTIALS: credentials });
    puller = await stack.startAgent('image-puller', { MAYFLY_REGISTRY_UPSTREAMS: upstreams });
  }, 240_000);

  afterAll(async () => {
    await Promise.all(runtimes.map((host) => host.stop()));
    await stack?.stop();
    await ecr?.stop();
    if (ecrRoot) await rm(ecrRoot, { recursive: true, force: true });
  }, 60_000);

  it('refuses a malformed ref, an unknown platform field and a repository outside the allowlist with a reason', async () => {
    const bad = await preheat({ kind: 'image', ref: 'app:v1' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/no registry host/);
    expect((await preheat({ kind: 'image', ref: REF, platform: 'Linux' })).status).toBe(400);
    expect((await preheat({ kind: 'image', ref: REF, url: 's3://x/y' })).status).toBe(400);
    const outside = await preheat({ kind: 'image', ref: `${REGISTRY_NAME}/other/app:v1` });
    expect(outside.status).toBe(403);
    expect(((await outside.json()) as { message: string }).message).toMatch(/outside the allowed origins/);
    const missing = await preheat({ kind: 'image', ref: `${REGISTRY_NAME}/demo/app:nope` });
    expect(missing.status).toBe(404);
  }, 60_000);

  it('preheats every blob on the seed; containerd then pulls through another mirror and the registry storage serves no layer', async () => {
    const answer = await preheat({ kind: 'image', ref: REF });
    expect(answer.status).toBe(201);
    const body = (await answer.json()) as {
      jobs: Array<{ id: string; kind: string; itemCount: number }>;
      image: { manifest: string; platform: string; blobs: Array<{ digest: string; kind: string; jobId: string; itemId: string }> };
    };
    expect(body.image.manifest).toBe(image.manifest.digest);
    expect(body.image.platform).toBe('linux/amd64');
    expect(body.image.blobs.map((blob) => blob.digest)).toEqual([image.config.digest, ...image.layers.map((layer) => layer.digest)]);
    // One job for the image, one item per blob (config and layers).
    expect(body.jobs).toHaveLength(1);
    const [imageJob] = body.jobs;
    expect(imageJob).toMatchObject({ kind: 'image', itemCount: 4 });
    expect(body.image.blobs.every((blob) => blob.jobId === imageJob.id)).toBe(true);
    await waitUntil(async () => {
      const state = await job(imageJob.id);
      if (state.state === 'failed') throw new Error(`image preheat job failed: ${state.error}`);
      return state.state === 'done';
    }, 180_000);
    const done = (await job(imageJob.id)) as unknown as { kind: string; itemsDone: number; items: Array<{ id: string; url: string; state: string }> };
    expect(done.kind).toBe('image');
    expect(done.itemsDone).toBe(4);
    expect(done.items.map((item) => item.id)).toEqual(body.image.blobs.map((blob) => blob.itemId));
    expect(done.items.map((item) => item.url.slice(item.url.lastIndexOf('/') + 1))).toEqual(body.image.blobs.map((blob) => blob.digest));
    expect(done.items.every((item) => item.state === 'done')).toBe(true);

    ecr.s3.reset();
    const host = await ContainerdHost.start(join(stack.root, 'containerd-puller'));
    runtimes.push(host);
    const hostsDir = join(stack.root, 'hosts-puller');
    const setup = await runMayfly(['setup', 'containerd', '--registry', REGISTRY_NAME, '--mirror', puller.registryUrl, '--config-dir', hostsDir, '--server', 'http://127.0.0.1:9'], { PATH: process.env.PATH });
    expect(setup.code).toBe(0);
    await host.pull(REF, hostsDir, ecr.credentials);
    expect(await host.contentDigests()).toEqual(expect.arrayContaining([image.manifest.digest, image.config.digest, ...image.layers.map((layer) => layer.digest)]));
    // The registry still reads its own small files (tag link, manifest) from storage: far less than the smallest layer.
    expect(ecr.s3.bytesOut()).toBeLessThan(1 * MiB);
    for (const layer of image.layers) {
      expect(served.find((line) => line.agent === 'image-puller' && line.digest === layer.digest)).toMatchObject({ status: 200, bytesFromPeers: layer.size, bytesFromOrigin: 0 });
    }
  }, 300_000);

  it('fails the blob whose bytes in the registry storage do not match its digest, with the reason', async () => {
    const bad = await ecr.pushImage('demo/bad', 'v1', [1 * MiB]);
    const [layer] = bad.layers;
    // A rogue registry: the layer's stored bytes replaced (same size), so the 307 leads to other bytes.
    const s3 = new S3Client({ endpoint: ecr.s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const hex = layer.digest.slice('sha256:'.length);
    await s3.send(new PutObjectCommand({ Bucket: 'registry', Key: `docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`, Body: randomBytes(layer.size) }));
    s3.destroy();
    ecr.s3.reset();
    const answer = await preheat({ kind: 'image', ref: `${REGISTRY_NAME}/demo/bad:v1` });
    expect(answer.status).toBe(201);
    const { jobs } = (await answer.json()) as { jobs: Array<{ id: string }> };
    expect(jobs).toHaveLength(1);
    await waitUntil(async () => (await job(jobs[0].id)).state === 'failed', 180_000);
    const failed = (await job(jobs[0].id)) as unknown as { error: string; items: Array<{ url: string; state: string; error?: string }> };
    const item = failed.items.find((entry) => entry.url.endsWith(layer.digest));
    expect(item).toMatchObject({ state: 'failed', error: expect.stringMatching(/hashes to sha256:/) });
    expect(failed.items.find((entry) => entry.url.endsWith(bad.config.digest))?.state).toBe('done');
    // A digest mismatch is not transient: the seed read the stored layer once (a 1 MiB layer is one piece), not once per
    // try; the other GET is the scheduler's one-byte check of the seed's proof.
    expect(ecr.s3.requestsBy('GET', `/registry/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`)).toBeLessThanOrEqual(2);
  }, 240_000);
});
