import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ContainerdHost } from './registry/containerd-host.ts';
import { EcrStandIn, requireImageTools } from './registry/ecr-standin.ts';
import { MAYFLY_BIN } from './agent-process.ts';
import { LocalStack } from './local-stack.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const REGISTRY_NAME = 'registry.test';
const REF = `${REGISTRY_NAME}/demo/app:v1`;

/** One host's pull in the image demo. */
export interface ImageAgentReport {
  readonly agent: string;
  readonly seconds: number;
  /** Blobs (config and layers) the agent's mirror served from the swarm. */
  readonly blobs: number;
  readonly bytesFromPeers: number;
  readonly bytesFromOrigin: number;
  /** containerd holds every blob of the image (it checks each against its digest as it writes it). */
  readonly verified: boolean;
}

export interface ImageDemoReport {
  readonly ref: string;
  readonly layers: number;
  readonly imageBytes: number;
  /** Bytes the registry's storage (S3) served, counted by the proxy in front of it. */
  readonly storageBytes: number;
  readonly agents: ImageAgentReport[];
}

/** Which Debian packages are missing, as a message; undefined when all are installed. */
export function missingImageTools(): string | undefined {
  try {
    requireImageTools();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * `npm start -- --image`: the ECR stand-in (docker-registry on S3 with 307 redirects and
 * Basic auth), the local stack, two agents, and a containerd per agent configured by
 * `mayfly setup containerd` pulling a 3-layer image through its agent's mirror, one after
 * the other: the first host's layers come from the registry's storage, the second's from peers.
 */
export async function imageDemo(say: (line: string) => void): Promise<{ report: ImageDemoReport; stop: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'mayfly-image-demo-'));
  const runtimes: ContainerdHost[] = [];
  let ecr: EcrStandIn | undefined;
  let stack: LocalStack | undefined;
  const stop = async () => {
    await Promise.all(runtimes.map((host) => host.stop()));
    await stack?.stop();
    await ecr?.stop();
    await rm(root, { recursive: true, force: true });
  };
  try {
    ecr = await EcrStandIn.start(join(root, 'ecr'), { token: 'demo-token' });
    say(`ECR stand-in: docker-registry ${ecr.registryUrl} (Basic auth AWS:demo-token), its S3 storage at ${ecr.s3.endpoint}`);
    const image = await ecr.pushImage('demo/app', 'v1', [4 * MiB, 16 * MiB, 44 * MiB]);
    const imageBytes = image.config.size + image.layers.reduce((sum, layer) => sum + layer.size, 0);
    const served = new Map<string, { blobs: number; bytesFromPeers: number; bytesFromOrigin: number }>();
    stack = await LocalStack.start({
      root: join(root, 'stack'),
      onAgentLog: (agent, line) => {
        if (!line.includes('registry blob served from the swarm')) return;
        const entry = JSON.parse(line) as { bytesFromPeers?: number; bytesFromOrigin?: number };
        const total = served.get(agent) ?? { blobs: 0, bytesFromPeers: 0, bytesFromOrigin: 0 };
        served.set(agent, { blobs: total.blobs + 1, bytesFromPeers: total.bytesFromPeers + (entry.bytesFromPeers ?? 0), bytesFromOrigin: total.bytesFromOrigin + (entry.bytesFromOrigin ?? 0) });
      },
      schedulerSettings: { allowedOrigins: [`registry+${ecr.registryUrl}/demo/`, `registry-storage+${ecr.s3.endpoint}/`] },
    });
    const agents = await Promise.all([1, 2].map((i) => stack!.startAgent(`agent-${i}`, { MAYFLY_REGISTRY_UPSTREAMS: `${REGISTRY_NAME}=${ecr!.registryUrl}` })));
    say(`pushed ${REF}: ${image.layers.length} layers, ${(imageBytes / MiB).toFixed(1)} MiB; two agents, a containerd on each pulls through its agent's mirror ...\n`);
    ecr.s3.reset();
    const reports: ImageAgentReport[] = [];
    for (const agent of agents) {
      const host = await ContainerdHost.start(join(root, `containerd-${agent.name}`));
      runtimes.push(host);
      const hostsDir = join(root, `hosts-${agent.name}`);
      await run(process.execPath, [MAYFLY_BIN, 'setup', 'containerd', '--registry', REGISTRY_NAME, '--mirror', agent.registryUrl, '--config-dir', hostsDir, '--server', ecr.registryUrl]);
      const started = Date.now();
      await host.pull(REF, hostsDir, ecr.credentials);
      const seconds = (Date.now() - started) / 1000;
      const held = await host.contentDigests();
      const verified = [image.manifest, image.config, ...image.layers].every((blob) => held.includes(blob.digest));
      reports.push({ agent: agent.name, seconds, ...(served.get(agent.name) ?? { blobs: 0, bytesFromPeers: 0, bytesFromOrigin: 0 }), verified });
    }
    return { report: { ref: REF, layers: image.layers.length, imageBytes, storageBytes: ecr.s3.bytesOut(), agents: reports }, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export function printImageReport(report: ImageDemoReport): void {
  const mib = (bytes: number) => (bytes / MiB).toFixed(1).padStart(8);
  console.log('agent        seconds   blobs  from peers MiB  from S3 MiB  verified');
  for (const agent of report.agents) {
    console.log(`${agent.agent.padEnd(12)} ${agent.seconds.toFixed(2).padStart(7)}   ${String(agent.blobs).padStart(5)}  ${mib(agent.bytesFromPeers)}        ${mib(agent.bytesFromOrigin)}     ${agent.verified ? 'ok' : 'MISSING BLOBS'}`);
  }
  console.log(
    `\nimage ${report.ref}: ${report.layers} layers, ${(report.imageBytes / MiB).toFixed(1)} MiB; the registry's S3 storage served ` +
      `${(report.storageBytes / MiB).toFixed(1)} MiB (${(report.storageBytes / report.imageBytes).toFixed(2)} × the image) to ${report.agents.length} hosts`,
  );
}
