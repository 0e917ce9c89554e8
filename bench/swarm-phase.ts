/**
 * One measured phase of the swarm benchmark on an already built network:
 * every host pulls the same object at the same moment, either through its
 * Mayfly agent or straight from S3. Counts origin bytes on the origin's own
 * interfaces, inter-site bytes on the link between sites, and CPU.
 */
import { runFreeze, type SchedulerFreeze } from './scheduler-freeze.ts';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuSampler, type CpuSummary } from './cpu-sampler.ts';
import { LinkTimeline, type PortSample } from './link-timeline.ts';
import { linkCounters } from './netns.ts';
import { originTx } from './netns-run.ts';
import { NsProcess } from './ns-process.ts';
import { max, median, sum } from './stats.ts';
import type { BenchHost, Topology } from './topology.ts';
import { AGENT_NODE_OPTIONS } from '../core/constants.ts';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const MAYFLY_BIN = join(REPO_ROOT, 'agent/bin/mayfly.mjs');
export const benchScript = (name: string) => join(REPO_ROOT, 'bench', name);

export const S3_PORT = 9000;
export const SCHEDULER_PORT = 8000;
export const AGENT_API_PORT = 7401;
export const AGENT_PEER_PORT = 7402;

export const LOCAL_CREDENTIALS_ENV = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

export function baseEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...LOCAL_CREDENTIALS_ENV };
}

export interface Artifact {
  readonly url: string;
  readonly size: number;
  readonly sha256: string;
}

export interface PhaseOptions {
  readonly label: string;
  readonly mode: 'mayfly' | 'direct';
  readonly topology: Topology;
  readonly artifact: Artifact;
  readonly runDir: string;
  /** Each agent's own token, by peer id (the control host enrolled them). */
  readonly agentTokens: Readonly<Record<string, string>>;
  /** Site names handed to agents, by site index. */
  readonly siteNames: readonly string[];
  readonly timeoutMs: number;
  /** Other long-running processes whose CPU is reported (origin, control plane). */
  readonly infra: Readonly<Record<string, NsProcess>>;
  readonly log: (line: string) => void;
  /** The agent program (bundle or agent/bin/mayfly.mjs). */
  readonly agentBin: string;
  /** Extra node flags for the agents, e.g. `--cpu-prof --cpu-prof-dir=DIR` to profile them. */
  readonly agentNodeArgs?: readonly string[];
  /** Extra agent settings (MAYFLY_* variables) for experiments. */
  readonly agentEnv?: Readonly<Record<string, string>>;
  /** `debug` logs every piece with where it came from and how long it took. */
  readonly agentLogLevel?: string;
  /** Freezes the control host mid-pull (Mayfly phases only; `--freeze-scheduler`). */
  readonly freeze?: SchedulerFreeze;
  /** Each host pulls with `mayfly get` as a process of its own (start-up counted), not through the API. */
  readonly cliStartup?: boolean;
  /** Each host pulls into its agent's cache only (POST /v1/pulls); the copy to a file waits for `verify`. */
  readonly intoCache?: boolean;
}

export interface HostResult {
  readonly host: string;
  readonly site: number;
  readonly seconds: number;
  readonly bytesFromPeers: number;
  readonly bytesFromOrigin: number;
  readonly verified: boolean;
  /** The agent's counters at the end (mayfly phases): pieces served, uploads refused as busy, redirected. */
  readonly counters?: Record<string, number>;
  readonly error?: string;
  /** Direct pulls: ranged GETs retried after a broken connection. */
  readonly retries?: number;
  readonly agentCpuSeconds?: number;
  readonly agentPeakRssMB?: number;
}

export interface PhaseResult {
  readonly label: string;
  readonly mode: 'mayfly' | 'direct';
  readonly hosts: HostResult[];
  readonly maxSeconds: number;
  readonly medianSeconds: number;
  /** Bytes that left the origin's interfaces during the phase (link counters, all headers included). */
  readonly originLinkBytes: number;
  /** Bytes that crossed the inter-site link, both directions (two sites only). */
  readonly interSiteBytes?: number;
  readonly cpu: CpuSummary;
  readonly cpuSecondsByRole: Record<string, number>;
  readonly wallSeconds: number;
  /** Switch port counters once a second (rx = what that host uploaded, tx = what it downloaded). */
  readonly timeline: PortSample[];
}

export async function runPhase(options: PhaseOptions): Promise<PhaseResult> {
  const { topology, artifact, runDir, mode, log } = options;
  const agents = new Map<string, NsProcess>();
  const pullers = new Map<string, NsProcess>();
  try {
    if (mode === 'mayfly') {
      log(`  starting ${topology.hosts.length} agents ...`);
      await Promise.all(topology.hosts.map(async (host) => agents.set(host.name, await startAgent(host, options))));
    }
    log(`  starting ${topology.hosts.length} pullers (${mode}) ...`);
    await Promise.all(topology.hosts.map(async (host) => pullers.set(host.name, await startPuller(host, options))));

    const originBefore = originTx(topology);
    const interBefore = interSiteBytes(topology);
    const cpuBefore = roleCpu(agents, pullers, options.infra);
    const sampler = new CpuSampler();
    sampler.start();
    const timeline = new LinkTimeline(topology.switchNs);
    timeline.start();
    const go = Date.now();
    for (const puller of pullers.values()) puller.send(`go ${go}`);
    log(`  all ${pullers.size} hosts pull ${artifact.url} now`);
    const thaw = new AbortController();
    const freezing = options.freeze && mode === 'mayfly' ? runFreeze(options.freeze, log, thaw.signal) : undefined;
    const done = await Promise.all(
      topology.hosts.map(async (host) => {
        const message = await pullers.get(host.name)!.waitFor((m) => m.done === true, options.timeoutMs);
        const agent = agents.get(host.name);
        return {
          host,
          message,
          // Read while the agent still runs; its CPU keeps counting while it seeds others.
          agentCpuSeconds: agent?.cpuSeconds(),
          agentPeakRssMB: agent ? agent.peakRssBytes() / 1e6 : undefined,
        };
      }),
    );
    const wallSeconds = (Date.now() - go) / 1000;
    thaw.abort();
    await freezing;
    const cpu = sampler.stop();
    const samples = timeline.stop();
    const cpuAfter = roleCpu(agents, pullers, options.infra);
    const originLinkBytes = originTx(topology) - originBefore;
    const interAfter = interSiteBytes(topology);

    for (const puller of pullers.values()) puller.send('verify');
    const hosts: HostResult[] = await Promise.all(
      done.map(async ({ host, message, agentCpuSeconds, agentPeakRssMB }) => {
        const answer = message.error ? undefined : await pullers.get(host.name)!.waitFor((m) => 'verified' in m, 120_000);
        const verified = answer?.verified === true;
        const counters = (answer?.counters ?? {}) as Record<string, number>;
        return {
          host: host.name,
          site: host.site,
          seconds: Number(message.seconds ?? Number.NaN),
          bytesFromPeers: Number(message.bytesFromPeers ?? 0),
          bytesFromOrigin: Number(message.bytesFromOrigin ?? 0),
          verified,
          counters,
          ...(message.retries ? { retries: Number(message.retries) } : {}),
          ...(message.error ? { error: String(message.error) } : {}),
          ...(agentCpuSeconds !== undefined ? { agentCpuSeconds } : {}),
          ...(agentPeakRssMB !== undefined ? { agentPeakRssMB } : {}),
        };
      }),
    );
    const seconds = hosts.map((host) => host.seconds);
    const cpuSecondsByRole: Record<string, number> = {};
    for (const role of Object.keys(cpuAfter)) cpuSecondsByRole[role] = cpuAfter[role] - (cpuBefore[role] ?? 0);
    return {
      label: options.label,
      mode,
      hosts,
      maxSeconds: max(seconds),
      medianSeconds: median(seconds),
      originLinkBytes,
      ...(interBefore !== undefined && interAfter !== undefined ? { interSiteBytes: interAfter - interBefore } : {}),
      cpu,
      cpuSecondsByRole,
      wallSeconds,
      timeline: samples,
    };
  } finally {
    await Promise.all([...pullers.values(), ...agents.values()].map((process) => process.stop()));
    await Promise.all(topology.hosts.map((host) => rm(join(runDir, host.name, `cache-${options.label.replace(/[^a-z0-9]+/gi, '-')}`), { recursive: true, force: true })));
  }
}

/** The environment of one bench host's agent: its site's scheduler and S3 endpoint, its own address as peer and advertised host. */
export function benchAgentEnv(
  host: BenchHost,
  topology: Topology,
  agent: { readonly token: string; readonly dataDir: string; readonly siteIndex: number; readonly siteName: string; readonly logLevel?: string },
): NodeJS.ProcessEnv {
  return {
    ...baseEnv(),
    MAYFLY_SCHEDULER_URL: `http://${topology.control.addresses[agent.siteIndex]}:${SCHEDULER_PORT}`,
    MAYFLY_TOKEN: agent.token,
    MAYFLY_S3_ENDPOINT: `http://${topology.origin.addresses[agent.siteIndex]}:${S3_PORT}`,
    MAYFLY_DATA_DIR: agent.dataDir,
    MAYFLY_PEER_ID: host.name,
    MAYFLY_PEER_HOST: host.address,
    MAYFLY_ADVERTISE_HOST: host.address,
    MAYFLY_PEER_PORT: String(AGENT_PEER_PORT),
    MAYFLY_API_PORT: String(AGENT_API_PORT),
    MAYFLY_SITE: agent.siteName,
    MAYFLY_LOG_LEVEL: agent.logLevel ?? 'info',
  };
}

async function startAgent(host: BenchHost, options: PhaseOptions): Promise<NsProcess> {
  const { topology } = options;
  // A fresh cache per phase: a later phase must not find the object already cached.
  const dataDir = join(options.runDir, host.name, `cache-${options.label.replace(/[^a-z0-9]+/gi, '-')}`);
  await mkdir(dataDir, { recursive: true });
  const agent = new NsProcess({
    name: `agent ${host.name}`,
    ns: host.ns,
    command: process.execPath,
    args: [...AGENT_NODE_OPTIONS, ...(options.agentNodeArgs ?? []), options.agentBin, 'agent'], // as deployed
    cwd: REPO_ROOT,
    logFile: join(options.runDir, host.name, 'agent.log'),
    readyTimeoutMs: 120_000,
    env: {
      ...benchAgentEnv(host, topology, { token: options.agentTokens[host.name], dataDir, siteIndex: host.site, siteName: options.siteNames[host.site], logLevel: options.agentLogLevel }),
      ...options.agentEnv,
    },
  });
  await agent.start();
  return agent;
}

async function startPuller(host: BenchHost, options: PhaseOptions): Promise<NsProcess> {
  const dir = join(options.runDir, host.name);
  await mkdir(dir, { recursive: true });
  const puller = new NsProcess({
    name: `puller ${host.name}`,
    ns: host.ns,
    command: process.execPath,
    args: [
      '--import',
      'tsx',
      benchScript('pull-host.ts'),
      '--mode',
      options.mode,
      '--url',
      options.artifact.url,
      '--output',
      join(dir, `output-${options.mode}.bin`),
      '--api',
      `http://127.0.0.1:${AGENT_API_PORT}`,
      '--s3-endpoint',
      `http://${options.topology.origin.addresses[host.site]}:${S3_PORT}`,
      '--sha256',
      options.artifact.sha256,
      ...(options.cliStartup && options.mode === 'mayfly' ? ['--cli', options.agentBin] : []),
      ...(options.intoCache && options.mode === 'mayfly' ? ['--into', 'cache'] : []),
    ],
    cwd: REPO_ROOT,
    logFile: join(dir, `puller-${options.mode}.log`),
    readyTimeoutMs: 120_000,
    env: baseEnv(),
  });
  await puller.start();
  return puller;
}

function interSiteBytes(topology: Topology): number | undefined {
  if (!topology.interSite) return undefined;
  return sum(topology.interSite.map((ifname) => linkCounters(topology.switchNs, ifname).txBytes));
}

function roleCpu(agents: Map<string, NsProcess>, pullers: Map<string, NsProcess>, infra: Readonly<Record<string, NsProcess>>): Record<string, number> {
  const roles: Record<string, number> = {
    agents: sum([...agents.values()].map((agent) => agent.cpuSeconds())),
    'agents (system)': sum([...agents.values()].map((agent) => agent.systemCpuSeconds())),
    pullers: sum([...pullers.values()].map((puller) => puller.cpuSeconds())),
  };
  for (const [role, process] of Object.entries(infra)) roles[role] = process.cpuSeconds();
  return roles;
}
