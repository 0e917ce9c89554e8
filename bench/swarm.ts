/**
 * `npm run bench:swarm` — Mayfly against physics on a virtual network.
 * Linux, as root: it builds network namespaces, veth pairs, bridges and tbf
 * rate limits (see topology.ts), runs an S3-compatible origin, the scheduler
 * with dynalite, and one agent per host, each in its own namespace.
 *
 * Phases (each host pulls the same object at the same moment; the default run is
 * mayfly,direct, which fits the 10 minute budget; `npm run bench:swarm:two-site` runs the third):
 *   mayfly    N hosts on one site pull through their agents
 *   direct    the same N hosts pull straight from S3 (baseline, same network, same run)
 *   two-site  N hosts split over two sites joined by a slow link, through agents
 *
 *   npm run bench:swarm -- [--hosts 16] [--size-mib 256] [--host-mbit 100] [--origin-mbit 100]
 *                          [--inter-site-mbit 50] [--mtu 9000] [--phases mayfly,direct | two-site]
 *                          [--json FILE] [--svg FILE] [--realistic] [--baseline aria2]
 *   --realistic  MTU 1500, nothing raised in priority, each host's `mayfly get` start-up counted (swarm-profile.ts); --baseline aria2  then the same hosts and object over BitTorrent (aria2-baseline.ts)
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fluidLowerBound, directLowerBound } from './fluid-bound.ts';
import { NetnsSet, netnsUnsupportedReason, removeStaleNamespaces } from './netns.ts';
import { NsProcess, killAllNsProcesses } from './ns-process.ts';
import { cdfChart } from './svg-chart.ts';
import { parseFreeze } from './scheduler-freeze.ts';
import { agentBinary, parseAgentKind } from './agent-binary.ts';
import { printPhase, printSummary, summarize, type SwarmReportContext } from './swarm-report.ts';
import { REPO_ROOT, S3_PORT, SCHEDULER_PORT, baseEnv, benchScript, runPhase, type Artifact, type PhaseResult } from './swarm-phase.ts';
import { buildTopology, type Topology, type TopologyOptions } from './topology.ts';
import { swarmProfile } from './swarm-profile.ts';
import { parseSwarmArgs } from './swarm-options.ts';
import { aria2Missing, printAria2, runAria2Phase } from './aria2-baseline.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `--workload tree`: a model tree pulled with `mayfly get -r` on the local stack (bench/workload-tree.ts; its own flags).
if (/^tree$/.test(process.argv[process.argv.indexOf('--workload') + 1] ?? '') || process.argv.includes('--workload=tree')) {
  const { runTreeWorkload } = await import('./workload-tree.ts');
  process.exit(await runTreeWorkload(process.argv.slice(2)));
}

const values = parseSwarmArgs();

// `--workload image`: container image pulls through the agents' mirrors (bench/workload-image.ts); exits when done.
if (values.workload === 'image') await (await import('./workload-image.ts')).imageWorkloadMain(values);

const unsupported = netnsUnsupportedReason() ?? (values.baseline === 'aria2' ? aria2Missing() : undefined);
if (unsupported) {
  console.error(`bench:swarm cannot run here: ${unsupported}.\nRun it on Linux as root (it builds its own network namespaces and removes them afterwards).`);
  process.exit(2);
}

const hostCount = Number(values.hosts);
const size = Math.round(Number(values['size-mib']) * 1024 * 1024);
const hostMbit = Number(values['host-mbit']);
const originMbit = Number(values['origin-mbit']);
const interSiteMbit = Number(values['inter-site-mbit']);
const profile = swarmProfile(values);
const mtu = profile.mtu;
const phases = new Set(values.phases!.split(',').map((phase) => phase.trim()));
const budgetMs = Number(values['budget-s']) * 1000;
// S3 and the control plane are other machines in AWS. Here they share two cores with every
// simulated host, so they run at a higher priority: the hosts' load must not slow the origin link.
const infraNice = profile.infraNice;
const startedAt = Date.now();
const remaining = () => budgetMs - (Date.now() - startedAt);

// ---- lifecycle: everything created is removed on success, failure, signal or timeout ----
const runDir = mkdtempSync(join(tmpdir(), 'mayfly-bench-swarm-'));
const network = new NetnsSet();
let cleaned = false;
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  killAllNsProcesses();
  network.destroy();
  if (values['keep-logs']) copyLogs(runDir, values['keep-logs']);
  rmSync(runDir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    console.error(`\nbench:swarm: ${signal}; removing namespaces and processes`);
    cleanup();
    process.exit(130);
  });
}
const watchdog = setTimeout(() => {
  console.error(`bench:swarm: over its ${budgetMs / 1000} s budget; stopping`);
  cleanup();
  process.exit(3);
}, budgetMs + 20_000);
watchdog.unref();

const log = (line: string) => console.log(line);
const stale = removeStaleNamespaces();
if (stale.length) log(`removed ${stale.length} namespaces left by an earlier, killed run`);

interface SiteRun {
  readonly topology: Topology;
  readonly origin: NsProcess;
  readonly control: NsProcess;
  /** Each agent's own token, by peer id. */
  readonly agentTokens: Readonly<Record<string, string>>;
  readonly artifact: Artifact;
}

async function bringUp(sites: 1 | 2): Promise<SiteRun> {
  const options: TopologyOptions = { hosts: hostCount, sites, hostMbit, originMbit, interSiteMbit, mtu };
  log(`network: ${hostCount} hosts on ${sites} site(s), hosts ${hostMbit} Mbit/s up and down, origin ${originMbit} Mbit/s per site` +
    `${sites === 2 ? `, ${interSiteMbit} Mbit/s between sites` : ''}, MTU ${mtu}`);
  const topology = buildTopology(network, options);
  await mkdir(join(runDir, 'origin'), { recursive: true });
  const origin = new NsProcess({
    name: 'origin',
    ns: topology.origin.ns,
    command: process.execPath,
    args: ['--import', 'tsx', benchScript('origin-host.ts'), '--dir', join(runDir, 'origin'), '--port', String(S3_PORT), '--size', String(size), '--key', `artifact-${size}.bin`],
    cwd: REPO_ROOT,
    env: baseEnv(),
    logFile: join(runDir, 'origin.log'),
    readyTimeoutMs: 180_000,
    nice: infraNice,
  });
  log(`origin: s3rver at ${topology.origin.addresses.join(', ')}:${S3_PORT}, storing a ${values['size-mib']} MiB artifact ...`);
  const ready = await origin.start();
  const control = new NsProcess({
    name: 'control',
    ns: topology.control.ns,
    command: process.execPath,
    args: ['--import', 'tsx', benchScript('control-host.ts'), '--port', String(SCHEDULER_PORT), '--s3-endpoint', `http://${topology.origin.addresses[0]}:${S3_PORT}`, '--digest-s3-endpoint', `http://${topology.originInRegion}:${S3_PORT}`, '--dynamo', values.dynamo!],
    cwd: REPO_ROOT,
    // The control host enrols every agent (its own token: peer id, site, address), as the manager would.
    env: { ...baseEnv(), MAYFLY_TOKEN: token, MAYFLY_PEER_SECRET: peerSecret, MAYFLY_BENCH_AGENTS: JSON.stringify(enrolments(topology)) },
    logFile: join(runDir, 'control.log'),
    nice: infraNice,
  });
  const enrolled = (await control.start()).agentTokens as Record<string, string>;
  log(`control plane: scheduler + ${values.dynamo} at ${topology.control.addresses.join(', ')}:${SCHEDULER_PORT}`);
  return { topology, origin, control, agentTokens: enrolled, artifact: { url: String(ready.url), size: Number(ready.size), sha256: String(ready.sha256) } };
}

/** One agent token per bench host: its peer id, its site (site-a, site-b) and its address. */
function enrolments(topology: SiteRun['topology']): Array<{ peerId: string; site: string; addrs: string[] }> {
  return topology.hosts.map((host) => ({ peerId: host.name, site: siteName(host.site), addrs: [host.address] }));
}

function siteName(index: number): string {
  return `site-${String.fromCharCode(97 + index)}`;
}

/** What every phase on a built network shares: the network, the object, the infrastructure, the agent program. */
function phaseOn(run: SiteRun) {
  return {
    topology: run.topology,
    artifact: run.artifact,
    runDir,
    agentTokens: run.agentTokens,
    infra: { origin: run.origin, control: run.control },
    log,
    agentBin,
    agentNodeArgs: values['agent-node-args']?.split(' ').filter(Boolean),
    agentEnv: Object.fromEntries((values['agent-env'] ?? '').split(',').filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)])),
    agentLogLevel: values['agent-log-level'],
    freeze: parseFreeze(values['freeze-scheduler'], () => run.control.pid),
    cliStartup: profile.cliStartup,
    intoCache: values.into === 'cache',
  };
}

async function tearDown(run: SiteRun): Promise<void> {
  await Promise.all([run.origin.stop(), run.control.stop()]);
  reportDynamoCalls(join(runDir, 'control.log'));
  network.destroy();
}

/** The scheduler's DynamoDB calls by kind, as its control host logged them when it stopped. */
function reportDynamoCalls(controlLog: string): void {
  let text = '';
  try {
    text = readFileSync(controlLog, 'utf8');
  } catch {
    return; // the control host never started: nothing to report
  }
  const line = text.split('\n').findLast((entry) => entry.startsWith('{"dynamoCalls"'));
  if (!line) return;
  const calls = (JSON.parse(line) as { dynamoCalls: Record<string, number> }).dynamoCalls;
  log(`scheduler's DynamoDB calls: ${Object.entries(calls).map(([kind, count]) => `${kind.replace('Command', '')} ${count}`).join(', ')}`);
}

const token = randomBytes(16).toString('hex');
const peerSecret = randomBytes(32).toString('hex');
const results: PhaseResult[] = [];
const bound = fluidLowerBound({
  bytes: size,
  serverBps: originMbit * 1e6,
  downloadBps: Array(hostCount).fill(hostMbit * 1e6),
  uploadBps: Array(hostCount).fill(hostMbit * 1e6),
});
const directBound = directLowerBound({
  bytes: size,
  serverBps: originMbit * 1e6,
  downloadBps: Array(hostCount).fill(hostMbit * 1e6),
  uploadBps: Array(hostCount).fill(hostMbit * 1e6),
});

const report: SwarmReportContext = { hostCount, size, sizeMib: values['size-mib']!, hostMbit, originMbit, interSiteMbit, mtu, bound, directBound, log };

let exitCode = 0;
let agentBin = '';
try {
  agentBin = await agentBinary(parseAgentKind(values.agent), runDir);
  log(`agent program: ${values.agent} (${agentBin.startsWith(runDir) ? 'esbuild bundle, as installed on hosts' : agentBin})`);
  log(`profile: ${profile.name} (MTU ${mtu}, origin and control plane at nice ${infraNice}, ${profile.cliStartup ? 'each host runs mayfly get' : 'pulls through the agent API'})`);
  if (phases.has('mayfly') || phases.has('direct')) {
    const run = await bringUp(1);
    for (const mode of ['mayfly', 'direct'] as const) {
      if (!phases.has(mode)) continue;
      log(`\nphase ${mode}: ${hostCount} hosts, one site${mode === 'direct' ? ` (expect about ${Math.round(directBound)} s)` : ''}`);
      const result = await runPhase({
        ...phaseOn(run),
        label: mode === 'mayfly' ? 'Mayfly, one site' : 'direct from S3, one site',
        mode,
        siteNames: ['site-a'],
        timeoutMs: Math.max(30_000, remaining() - 60_000),
      });
      results.push(result);
      printPhase(report, result);
    }
    if (values.baseline === 'aria2') printAria2(await runAria2Phase({ topology: run.topology, artifact: run.artifact, runDir, log, timeoutMs: Math.max(30_000, remaining() - 60_000) }), size, bound.seconds, log);
    await tearDown(run);
  }
  if (phases.has('two-site')) {
    log('');
    const run = await bringUp(2);
    log(`\nphase two-site: ${hostCount} hosts over two sites`);
    const result = await runPhase({
      ...phaseOn(run),
      label: 'Mayfly, two sites',
      mode: 'mayfly',
      siteNames: ['site-a', 'site-b'],
      timeoutMs: Math.max(30_000, remaining() - 30_000),
    });
    results.push(result);
    printPhase(report, result);
    await tearDown(run);
  }
  const summary = summarize(report, results);
  printSummary(report, summary);
  if (values.json) await writeFile(values.json, `${JSON.stringify({ summary, results }, null, 2)}\n`);
  const mayfly = results.find((r) => r.label === 'Mayfly, one site');
  const direct = results.find((r) => r.mode === 'direct');
  if (mayfly && values.svg) {
    const series = [{ label: `Mayfly (max ${mayfly.maxSeconds.toFixed(1)} s)`, color: '#1f77b4', values: mayfly.hosts.map((h) => h.seconds) }];
    if (direct) series.push({ label: `direct from S3 (max ${direct.maxSeconds.toFixed(1)} s)`, color: '#d62728', values: direct.hosts.map((h) => h.seconds) });
    await writeFile(
      values.svg,
      cdfChart({
        title: `${hostCount} hosts pull ${values['size-mib']} MiB at once: completion times`,
        subtitle: `hosts ${hostMbit} Mbit/s up/down, origin ${originMbit} Mbit/s (tc tbf, netns); ${new Date().toISOString().slice(0, 10)}`,
        series,
        markers: [{ label: `T_min ${bound.seconds.toFixed(1)} s`, x: bound.seconds, color: '#2ca02c' }],
      }),
    );
    log(`chart written to ${values.svg}`);
  }
  if (results.some((r) => r.hosts.some((h) => !h.verified))) exitCode = 1;
} catch (error) {
  console.error(`bench:swarm failed: ${(error as Error).stack ?? error}`);
  exitCode = 1;
} finally {
  cleanup();
}
process.exit(exitCode);

/** Keeps the processes' logs (not the data) of a run for a closer look. */
function copyLogs(from: string, to: string): void {
  try {
    cpSync(from, to, { recursive: true, filter: (source) => !/\.(bin|part)$|\/cache(\/|$)|\/origin(\/|$)/.test(source.slice(from.length)) });
  } catch (error) {
    console.error(`could not keep logs: ${(error as Error).message}`);
  }
}
