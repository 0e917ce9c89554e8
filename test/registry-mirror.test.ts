import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import { LocalStack } from '../local/local-stack.ts';
import { ContainerdHost } from '../local/registry/containerd-host.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';
import { EcrStandIn } from '../local/registry/ecr-standin.ts';
import type { OciImage } from '../local/registry/oci-image.ts';
import { waitUntil } from './fixtures/wait-until.ts';

const MiB = 1024 * 1024;
const REGISTRY_NAME = 'registry.test';
const REF = `${REGISTRY_NAME}/demo/app:v1`;

interface ServedLine {
  readonly agent: string;
  readonly digest: string;
  readonly status: number;
  readonly bytes: number;
  readonly bytesFromPeers?: number;
  readonly bytesFromOrigin?: number;
}

/**
 * Every agent a registry mirror: the ECR stand-in (docker-registry on S3 with 307 redirects and
 * Basic auth), the real scheduler and manager, real agents, and real containerd daemons pulling
 * through each agent's mirror with `ctr images pull --hosts-dir`.
 */
describe('registry mirror', () => {
  let stack: LocalStack;
  let ecr: EcrStandIn;
  let image: OciImage;
  let agents: AgentProcess[];
  const runtimes: ContainerdHost[] = [];
  const served: ServedLine[] = [];
  const fallbacks: string[] = [];
  let imageBytes = 0;
  let ecrRoot = '';

  /** Each containerd is configured only by `mayfly setup containerd` (its fallback server a closed loopback port). */
  const hostsFor = async (agent: AgentProcess) => {
    const dir = join(stack.root, `hosts-${agent.name}`);
    const args = ['setup', 'containerd', '--registry', REGISTRY_NAME, '--mirror', agent.registryUrl, '--config-dir', dir, '--server', 'http://127.0.0.1:9'];
    const result = await runMayfly(args, { PATH: process.env.PATH });
    if (result.code !== 0) throw new Error(`mayfly setup containerd failed: ${result.stderr}`);
    return dir;
  };
  const runtime = async (name: string) => {
    const host = await ContainerdHost.start(join(stack.root, `containerd-${name}`));
    runtimes.push(host);
    return host;
  };
  const blobFile = (digest: string) => join(image.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const basic = () => `Basic ${Buffer.from(ecr.credentials!).toString('base64')}`;
  const layerDigests = () => [image.config.digest, ...image.layers.map((layer) => layer.digest)];

  beforeAll(async () => {
    ecrRoot = await mkdtemp(join(tmpdir(), 'mayfly-ecr-'));
    ecr = await EcrStandIn.start(ecrRoot, { token: 'ecr-token-123' });
    image = await ecr.pushImage('demo/app', 'v1', [1 * MiB, 4 * MiB, 64 * MiB]);
    imageBytes = image.config.size + image.layers.reduce((sum, layer) => sum + layer.size, 0);
    stack = await LocalStack.start({
      onAgentLog: (agent, line) => {
        if (line.includes('registry blob served from the swarm')) served.push({ agent, ...(JSON.parse(line) as Omit<ServedLine, 'agent'>) });
        if (line.includes("answering with the registry's redirect")) fallbacks.push(agent);
      },
      // The scheduler admits the registry's blobs, and proofs on its storage (the S3 side of the stand-in).
      schedulerSettings: { allowedOrigins: ['mayfly-demo', `registry+${ecr.registryUrl}/demo/`, `registry-storage+${ecr.s3.endpoint}/`] },
    });
    const upstreams = { MAYFLY_REGISTRY_UPSTREAMS: `${REGISTRY_NAME}=${ecr.registryUrl}` };
    agents = await Promise.all([1, 2, 3].map((i) => stack.startAgent(`mirror-${i}`, upstreams)));
  }, 240_000);

  afterAll(async () => {
    await Promise.all(runtimes.map((host) => host.stop()));
    await stack?.stop();
    await ecr?.stop();
    if (ecrRoot) await rm(ecrRoot, { recursive: true, force: true });
  }, 60_000);

  it('containerd on three hosts pulls through their mirrors: every layer verified, S3 serves each layer once, hosts 2 and 3 from peers', async () => {
    ecr.s3.reset();
    for (const agent of agents) {
      const host = await runtime(agent.name);
      await host.pull(REF, await hostsFor(agent), ecr.credentials);
      // containerd checks each blob against its digest as it writes it: what it holds is the image.
      expect(await host.contentDigests()).toEqual(expect.arrayContaining([image.manifest.digest, ...layerDigests()]));
    }
    // Each layer left the registry's storage about once (plus manifests and the registry's own small reads).
    expect(ecr.s3.bytesOut()).toBeGreaterThanOrEqual(imageBytes);
    expect(ecr.s3.bytesOut()).toBeLessThan(imageBytes * 1.05);
    const big = image.layers[2];
    const lineOf = (agent: string) => served.find((line) => line.agent === agent && line.digest === big.digest);
    expect(lineOf('mirror-1')).toMatchObject({ status: 200, bytes: big.size, bytesFromOrigin: big.size });
    for (const agent of ['mirror-2', 'mirror-3']) {
      expect(lineOf(agent)).toMatchObject({ status: 200, bytes: big.size, bytesFromPeers: big.size, bytesFromOrigin: 0 });
    }
    // Every blob of every host came through the swarm, none by the registry's redirect.
    for (const digest of layerDigests()) expect(served.filter((line) => line.digest === digest && line.status === 200).map((line) => line.agent).sort()).toEqual(['mirror-1', 'mirror-2', 'mirror-3']);
    expect(fallbacks).toEqual([]);
  }, 300_000);

  it('a resumed pull (Range: bytes=N-) is answered 206 from the pieces it overlaps', async () => {
    const big = image.layers[2];
    const offset = 37 * MiB + 12_345;
    const answer = await fetch(`${agents[2].registryUrl}/v2/demo/app/blobs/${big.digest}?ns=${REGISTRY_NAME}`, {
      headers: { authorization: basic(), range: `bytes=${offset}-` },
    });
    expect(answer.status).toBe(206);
    expect(answer.headers.get('content-range')).toBe(`bytes ${offset}-${big.size - 1}/${big.size}`);
    const body = Buffer.from(await answer.arrayBuffer());
    const expected = (await readFile(blobFile(big.digest))).subarray(offset);
    expect(createHash('sha256').update(body).digest('hex')).toBe(createHash('sha256').update(expected).digest('hex'));
  }, 120_000);

  it('a host without registry credentials gets 401 and no bytes from peers; the scheduler refuses announces without a proof', async () => {
    const outsider = await stack.startAgent('mirror-outsider', { MAYFLY_REGISTRY_UPSTREAMS: `${REGISTRY_NAME}=${ecr.registryUrl}` });
    const host = await runtime('outsider');
    await expect(host.pull(REF, await hostsFor(outsider))).rejects.toThrow(/401 Unauthorized/);
    const big = image.layers[2];
    const direct = await fetch(`${outsider.registryUrl}/v2/demo/app/blobs/${big.digest}?ns=${REGISTRY_NAME}`);
    expect(direct.status).toBe(401);
    expect(direct.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    expect(served.filter((line) => line.agent === 'mirror-outsider')).toEqual([]);
    const metrics = await (await fetch(`${outsider.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/^mayfly_agent_bytes_from_peers_total\{[^}]*\} 0$/m);

    // Announcing the blob straight to the scheduler, without the registry's 307 or with a forged one.
    const token = await stack.agentToken('mirror-outsider');
    const announce = (extra: object) =>
      fetch(`${stack.schedulerProxy.endpoint}/v1/announce`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ url: `${ecr.registryUrl}/v2/demo/app/blobs/${big.digest}`, peerId: 'mirror-outsider', addr: `http://127.0.0.1:${outsider.peerPort}`, event: 'register', ...extra }),
      });
    const bare = await announce({});
    expect(bare.status).toBe(403);
    expect(((await bare.json()) as { message: string }).message).toMatch(/307 Location/);
    const elsewhere = await announce({ registryProof: 'http://169.254.169.254/latest/meta-data/' });
    expect(elsewhere.status).toBe(403);
    expect(((await elsewhere.json()) as { message: string }).message).toMatch(/outside the registry storage/);
  }, 120_000);

  it('with the scheduler down, the mirror answers with the registry redirect and the pull still succeeds', async () => {
    stack.schedulerProxy.setFault({ kind: 'reset' });
    try {
      const fresh = await stack.startAgent('mirror-outage', { MAYFLY_REGISTRY_UPSTREAMS: `${REGISTRY_NAME}=${ecr.registryUrl}` });
      const host = await runtime('outage');
      await host.pull(REF, await hostsFor(fresh), ecr.credentials);
      expect(await host.contentDigests()).toEqual(expect.arrayContaining(layerDigests()));
      await waitUntil(async () => fallbacks.includes('mirror-outage'));
      expect(served.filter((line) => line.agent === 'mirror-outage')).toEqual([]);
    } finally {
      stack.schedulerProxy.setFault(undefined);
    }
  }, 180_000);
});
