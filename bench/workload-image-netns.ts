/**
 * `npm run bench:swarm -- --workload image [--hosts 16] [--image-mib 256] [--host-mbit 100] [--origin-mbit 100]`:
 * the image workload on the shaped topology the file workload uses (topology.ts: one site,
 * each host its own namespace at --host-mbit, the origin at --origin-mbit, tbf). The ECR
 * stand-in (registry-origin-host.ts) sits in the origin namespace behind the origin link.
 * Phase mayfly: each host's skopeo pulls the 4-layer image through its own agent's mirror
 * (a `registries.conf` mirror on the namespace's loopback); phase direct: the same hosts
 * pull it straight from the registry (the baseline of the same run). Reported per phase:
 * slowest host / T_min (the fluid bound with F = the image's bytes), bytes that left the
 * origin's link / image bytes (the registry's answers and its storage's layer bytes; the
 * registry's own storage reads stay inside the origin namespace), the storage's bytes / image
 * bytes, and registry requests per host.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AGENT_NODE_OPTIONS } from '../core/constants.ts';
import { agentBinary } from './agent-binary.ts';
import { onShapedSite, originCounters, originTx, shapedSiteBound } from './netns-run.ts';
import { NsProcess } from './ns-process.ts';
import { REPO_ROOT, S3_PORT, SCHEDULER_PORT, baseEnv, benchAgentEnv, benchScript } from './swarm-phase.ts';
import type { BenchHost, Topology } from './topology.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const REGISTRY_NAME = 'registry.test';
const MIRROR_PORT = 7405;

export interface NetnsImageOptions {
  readonly hosts: number;
  readonly imageMiB: number;
  readonly hostMbit: number;
  readonly originMbit: number;
  readonly mtu: number;
  readonly log: (line: string) => void;
}

export interface NetnsImagePhase {
  readonly phase: 'mayfly' | 'direct';
  readonly seconds: number[];
  readonly maxSeconds: number;
  /** Slowest host / T_min. */
  readonly maxOverBound: number;
  /** Bytes that left the origin namespace's link / the image's bytes. */
  readonly originLinkRatio: number;
  /** Bytes the registry's storage served (its own small reads included) / the image's bytes. */
  readonly storageRatio: number;
  readonly registryRequestsPerHost: number;
}

export interface NetnsImageReport {
  readonly hosts: number;
  readonly imageBytes: number;
  readonly boundSeconds: number;
  readonly load: number[];
  readonly phases: NetnsImagePhase[];
}

export async function runNetnsImageWorkload(options: NetnsImageOptions): Promise<NetnsImageReport> {
  const { log } = options;
  return onShapedSite('image', options, async (topology, root) => {
    log(`network: ${options.hosts} hosts at ${options.hostMbit} Mbit/s up and down, origin (the registry and its storage) at ${options.originMbit} Mbit/s, MTU ${options.mtu}`);
    const originHost = topology.origin.addresses[0];
    const origin = new NsProcess({
      name: 'registry origin', ns: topology.origin.ns, command: process.execPath,
      args: ['--import', 'tsx', benchScript('registry-origin-host.ts'), '--dir', join(root, 'ecr'), '--host', originHost, '--image-mib', String(options.imageMiB)],
      cwd: REPO_ROOT, env: baseEnv(), logFile: join(root, 'origin.log'), readyTimeoutMs: 300_000, nice: -5,
    });
    const ready = await origin.start();
    const registryUrl = String(ready.registryUrl);
    const imageBytes = Number(ready.imageBytes);
    log(`registry: ${registryUrl} (storage ${String(ready.storageUrl)}), image ${(imageBytes / MiB).toFixed(1)} MiB in layers of ${(ready.layers as number[]).map((b) => (b / MiB).toFixed(0)).join(', ')} MiB`);
    const token = randomBytes(16).toString('hex');
    const control = new NsProcess({
      name: 'control', ns: topology.control.ns, command: process.execPath,
      args: ['--import', 'tsx', benchScript('control-host.ts'), '--port', String(SCHEDULER_PORT), '--s3-endpoint', `http://${originHost}:${S3_PORT}`,
        '--allowed-origins', `registry+${registryUrl}/demo/,registry-storage+${String(ready.storageUrl)}/`],
      cwd: REPO_ROOT,
      env: { ...baseEnv(), MAYFLY_TOKEN: token, MAYFLY_PEER_SECRET: randomBytes(32).toString('hex'), MAYFLY_BENCH_AGENTS: JSON.stringify(topology.hosts.map((h) => ({ peerId: h.name, site: 'site-a', addrs: [h.address] }))) },
      logFile: join(root, 'control.log'), nice: -5,
    });
    const agentTokens = (await control.start()).agentTokens as Record<string, string>;
    const agentBin = await agentBinary('bundle', root);
    const bound = shapedSiteBound(imageBytes, options);
    log(`T_min (F = the image): ${bound.seconds.toFixed(1)} s (${bound.term})`);
    const ask = originCounters(origin);
    const phases: NetnsImagePhase[] = [];
    for (const phase of ['mayfly', 'direct'] as const) {
      const agents = phase === 'mayfly'
        ? await Promise.all(topology.hosts.map((host) => startMirrorAgent(host, topology, root, agentBin, agentTokens[host.name], registryUrl)))
        : [];
      try {
        await ask('reset');
        const linkBefore = originTx(topology);
        log(`phase ${phase}: ${options.hosts} hosts run skopeo copy at once${phase === 'mayfly' ? ' through their agents\' mirrors' : ' straight from the registry'} ...`);
        const seconds = await Promise.all(topology.hosts.map((host) => skopeoPull(host, root, phase, registryUrl, String(ready.credentials))));
        const linkBytes = originTx(topology) - linkBefore;
        const counted = await ask('stats');
        const maxSeconds = Math.max(...seconds);
        const result: NetnsImagePhase = {
          phase, seconds, maxSeconds, maxOverBound: maxSeconds / bound.seconds,
          originLinkRatio: linkBytes / imageBytes,
          storageRatio: Number(counted.storageBytes) / imageBytes,
          registryRequestsPerHost: Number(counted.registryRequests) / options.hosts,
        };
        log(`${phase.padEnd(7)} slowest ${maxSeconds.toFixed(1)} s = ${result.maxOverBound.toFixed(2)} × T_min, fastest ${Math.min(...seconds).toFixed(1)} s; ` +
          `origin link ${result.originLinkRatio.toFixed(3)} × the image (storage ${result.storageRatio.toFixed(3)} ×), ${result.registryRequestsPerHost.toFixed(1)} registry requests per host`);
        phases.push(result);
      } finally {
        await Promise.all(agents.map((agent) => agent.stop()));
      }
    }
    await Promise.all([origin.stop(), control.stop()]);
    return { hosts: options.hosts, imageBytes, boundSeconds: bound.seconds, load: loadavg(), phases };
  });
}

/** An agent in the host's namespace with its registry mirror on the namespace's loopback. */
async function startMirrorAgent(host: BenchHost, topology: Topology, root: string, agentBin: string, token: string, registryUrl: string): Promise<NsProcess> {
  const dataDir = join(root, host.name, 'cache');
  await mkdir(dataDir, { recursive: true });
  const agent = new NsProcess({
    name: `agent ${host.name}`, ns: host.ns, command: process.execPath,
    args: [...AGENT_NODE_OPTIONS, agentBin, 'agent'], cwd: REPO_ROOT, logFile: join(root, host.name, 'agent.log'), readyTimeoutMs: 120_000,
    env: {
      ...benchAgentEnv(host, topology, { token, dataDir, siteIndex: 0, siteName: 'site-a' }),
      MAYFLY_REGISTRY_PORT: String(MIRROR_PORT),
      MAYFLY_REGISTRY_UPSTREAMS: `_default=${registryUrl},${REGISTRY_NAME}=${registryUrl}`,
    },
  });
  await agent.start();
  return agent;
}

/** skopeo copy of the image in the host's namespace; seconds from start to the last layer written. */
async function skopeoPull(host: BenchHost, root: string, phase: 'mayfly' | 'direct', registryUrl: string, credentials: string): Promise<number> {
  const dir = join(root, host.name, phase);
  await mkdir(dir, { recursive: true });
  const registryHost = new URL(registryUrl).host;
  const mirror = `127.0.0.1:${MIRROR_PORT}`;
  const conf = join(dir, 'registries.conf');
  await writeFile(conf, `unqualified-search-registries = []\n[[registry]]\nprefix = "${REGISTRY_NAME}"\nlocation = "${registryHost}"\ninsecure = true\n[[registry.mirror]]\nlocation = "${mirror}"\ninsecure = true\n`);
  // skopeo sends --src-creds to neither a mirror nor a rewritten location; an auth file names each host.
  const auth = Buffer.from(credentials).toString('base64');
  const authFile = join(dir, 'auth.json');
  await writeFile(authFile, JSON.stringify({ auths: { [REGISTRY_NAME]: { auth }, [registryHost]: { auth }, [mirror]: { auth } } }));
  const source = phase === 'mayfly' ? `docker://${REGISTRY_NAME}/demo/big:v1` : `docker://${registryHost}/demo/big:v1`;
  const started = Date.now();
  await run('ip', ['netns', 'exec', host.ns, 'skopeo', '--registries-conf', conf, 'copy', '-q', '--src-tls-verify=false', '--src-authfile', authFile, source, `dir:${join(dir, 'image')}`], { maxBuffer: 16 * MiB });
  const seconds = (Date.now() - started) / 1000;
  await rm(join(dir, 'image'), { recursive: true, force: true });
  return seconds;
}

