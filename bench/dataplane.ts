/**
 * `npm run bench:dataplane` — the agent's piece server against a plain
 * static-file server, on loopback, unshaped, same file, same run.
 *
 * One agent of the local stack pulls a 1 GiB artifact from S3 into its cache;
 * then a client playing one child peer fetches every piece from the agent's
 * peer server (GET /v1/tasks/:id/pieces/:n, 3 in flight like the downloader's
 * per-parent limit), and the same byte ranges from a node:http +
 * fs.createReadStream server serving the same bytes. Rounds alternate, the
 * median counts. Then 8 children fetch at once while the agent's RSS is sampled.
 * Last the receive path against its yardstick (receive-baseline.ts): `curl |
 * tee FILE | sha256sum` from the static server, then a second agent pulling the
 * object from the first for a `mayfly get -o FILE` process; CPU per GB of the
 * agent plus the CLI, and MB/s, as ratios to the pipeline's.
 *
 *   npm run bench:dataplane -- [--size-mib 1024] [--rounds 5] [--peers 8] [--agent bundle|source] [--json FILE]
 *                              [--profile-dir DIR]  (node --cpu-prof of the receiving agent and the CLI)
 *                              [--cli-ab OTHER_BUNDLE]  (cached gets, this CLI and another build alternating: CPU s/GB each)
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PEER_CREDENTIAL_HEADER, derivePeerSigningKey, issueCredential } from '../core/peer-credential.ts';
import { AGENT_NODE_OPTIONS } from '../core/constants.ts';
import { choosePieceLength, pieceCountOf, pieceRange } from '../core/piece-math.ts';
import { LocalStack } from '../local/local-stack.ts';
import { NsProcess, processCpuSeconds } from './ns-process.ts';
import { fetchAll, type FetchJob, type FetchResult } from './piece-fetcher.ts';
import { median, round } from './stats.ts';
import { REPO_ROOT, benchScript } from './swarm-phase.ts';
import { agentBinary, parseAgentKind } from './agent-binary.ts';
import { pullToFile, sha256File } from '../local/swarm-pull.ts';
import { curlTeeSha256, perGB, timed } from './receive-baseline.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '5' },
    inflight: { type: 'string', default: '3' },
    peers: { type: 'string', default: '8' },
    json: { type: 'string' },
    agent: { type: 'string', default: 'bundle' },
    'profile-dir': { type: 'string' },
    'cli-ab': { type: 'string' },
  },
});
const size = Number(values['size-mib']) * 1024 * 1024;
const rounds = Number(values.rounds);
const inflight = Number(values.inflight);
const peerCount = Number(values.peers);
const log = (line: string) => console.log(line);

const watchdog = setTimeout(() => {
  console.error('bench:dataplane: over its 10 minute budget; stopping');
  void shutdown(3);
}, 9 * 60_000);
watchdog.unref();

let stack: LocalStack | undefined;
let staticServer: NsProcess | undefined;
let agent: NsProcess | undefined;
const children: NsProcess[] = [];
async function shutdown(code: number): Promise<never> {
  await Promise.all(children.map((child) => child.stop().catch(() => {})));
  await staticServer?.stop().catch(() => {});
  await agent?.stop().catch(() => {});
  await stack?.stop().catch(() => {});
  process.exit(code);
}
process.once('SIGINT', () => void shutdown(130));
process.once('SIGTERM', () => void shutdown(130));

try {
  stack = await LocalStack.start();
  log(`uploading a ${values['size-mib']} MiB artifact to the local S3-compatible server ...`);
  const artifact = await stack.putArtifact(`bench/dataplane-${values['size-mib']}MiB.bin`, size);
  const bin = await agentBinary(parseAgentKind(values.agent), stack.root);
  const local = stack; // narrowed, for the helper below
  const profile = values['profile-dir'] ? ['--cpu-prof', `--cpu-prof-dir=${values['profile-dir']}`] : [];
  const benchAgent = (name: string, peerId: string, logName: string, nodeArgs: string[] = []) =>
    new NsProcess({
      name,
      command: process.execPath,
      args: [...AGENT_NODE_OPTIONS, ...nodeArgs, bin, 'agent'], // as deployed
      cwd: REPO_ROOT,
      env: { ...local.agentEnv(peerId), MAYFLY_LOG_LEVEL: 'warn' },
      logFile: join(local.root, logName),
    });
  await stack.agentToken('server'); // its own agent token, enrolled through the manager
  agent = benchAgent('agent', 'server', 'agent.log');
  const agentReady = await agent.start();
  const output = join(stack.root, 'static', 'artifact.bin');
  await mkdir(join(stack.root, 'static'), { recursive: true });
  log(`agent program: ${values.agent}; it pulls the artifact into its cache (and writes a plain copy for the static server) ...`);
  const pulled = await pull(`http://127.0.0.1:${Number(agentReady.apiPort)}`, artifact.url, output);
  const taskId = pulled.taskId;
  const pieceLength = choosePieceLength(size);
  const pieces = pieceCountOf(size, pieceLength);
  const secret = (stack as unknown as { peerSecret?: string }).peerSecret;
  const credentialHeaders: Record<string, string> = secret
    ? { [PEER_CREDENTIAL_HEADER]: issueCredential(derivePeerSigningKey(secret), taskId, 'bench-child', Date.now() + 15 * 60_000) }
    : {};
  const agentJobs: FetchJob[] = [];
  const staticJobs: FetchJob[] = [];
  for (let index = 0; index < pieces; index++) {
    const { start, end } = pieceRange(index, size, pieceLength);
    agentJobs.push({ path: `/v1/tasks/${taskId}/pieces/${index}`, headers: credentialHeaders, expectedBytes: end - start });
    staticJobs.push({ path: '/artifact.bin', headers: { range: `bytes=${start}-${end - 1}` }, expectedBytes: end - start });
  }

  staticServer = new NsProcess({
    name: 'static server',
    command: process.execPath,
    args: ['--import', 'tsx', benchScript('static-server.ts'), output],
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    logFile: join(stack.root, 'static-server.log'),
  });
  const ready = await staticServer.start();
  const staticUrl = `http://127.0.0.1:${Number(ready.port)}`;
  const agentUrl = `http://127.0.0.1:${Number(agentReady.peerPort)}`;
  const agentPid = agent.pid!;
  const staticPid = staticServer.pid!;

  log(`\n${pieces} pieces of ${pieceLength / 1024 / 1024} MiB; one child, ${inflight} in flight; ${rounds} alternating rounds`);
  const perRound: { round: number; staticMBps: number; agentMBps: number; agentCpuSPerGB: number; staticCpuSPerGB: number }[] = [];
  for (let r = 1; r <= rounds; r++) {
    const staticCpu = processCpuSeconds(staticPid);
    const s = await fetchAll(staticUrl, staticJobs, inflight);
    const staticCpuUsed = processCpuSeconds(staticPid) - staticCpu;
    const agentCpu = processCpuSeconds(agentPid);
    const a = await fetchAll(agentUrl, agentJobs, inflight);
    const agentCpuUsed = processCpuSeconds(agentPid) - agentCpu;
    const row = {
      round: r,
      staticMBps: mbps(s),
      agentMBps: mbps(a),
      agentCpuSPerGB: round(agentCpuUsed / (a.bytes / 1e9), 2),
      staticCpuSPerGB: round(staticCpuUsed / (s.bytes / 1e9), 2),
    };
    perRound.push(row);
    log(`round ${r}: static ${row.staticMBps} MB/s (${row.staticCpuSPerGB} CPU s/GB), agent ${row.agentMBps} MB/s (${row.agentCpuSPerGB} CPU s/GB)`);
  }

  log(`\n${peerCount} children at once, ${inflight} in flight each, from the agent (RSS sampled every 50 ms) ...`);
  const rssBefore = rssBytes(agentPid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssBytes(agentPid))), 50);
  const manyCpu = processCpuSeconds(agentPid);
  const manyStart = performance.now();
  const many = await Promise.all(Array.from({ length: peerCount }, () => fetchAll(agentUrl, agentJobs, inflight)));
  const manySeconds = (performance.now() - manyStart) / 1000;
  const manyCpuUsed = processCpuSeconds(agentPid) - manyCpu;
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, rssBytes(agentPid));
  const manyBytes = many.reduce((sum, r) => sum + r.bytes, 0);
  const busy = many.reduce((sum, r) => sum + r.busyRetries, 0);
  log(`  served ${(manyBytes / 1e9).toFixed(2)} GB in ${manySeconds.toFixed(2)} s (${Math.round(manyBytes / 1e6 / manySeconds)} MB/s), ${busy} "busy" (503) answers retried`);
  log(`  agent RSS ${(rssBefore / 1e6).toFixed(0)} MB before, peak ${(rssPeak / 1e6).toFixed(0)} MB while serving ${peerCount} children`);

  // The irreducible receive work with C tools on the same bytes, same filesystem: the yardstick.
  log(`\nbaseline: curl from the static server | tee FILE | sha256sum (same bytes, same filesystem) ...`);
  const baselineRun = await curlTeeSha256(`${staticUrl}/artifact.bin`, join(stack.root, 'baseline-output.bin'));
  if (baselineRun.sha256 !== artifact.sha256) throw new Error(`baseline pipeline read sha256 ${baselineRun.sha256}, expected ${artifact.sha256}`);
  await rm(join(stack.root, 'baseline-output.bin'), { force: true });
  const baseline = { ...perGB(baselineRun, size), seconds: round(baselineRun.wallSeconds, 2) };
  log(`  ${baseline.MBps} MB/s, ${baseline.cpuSecondsPerGB} CPU s/GB (curl + tee + sha256sum)`);

  // The whole receive path too: a second agent pulls the object for `mayfly get` (a process of its
  // own, as a user runs it); the scheduler hands it the first (finished) agent as its parent, so
  // every byte goes agent → agent over loopback, then agent → CLI → the user's file.
  log(`\na second agent pulls the same object from the first for \`mayfly get\` (socket → verify → cache → output file) ...`);
  await stack.agentToken('child');
  const child = benchAgent('child agent', 'child', 'child-agent.log', profile);
  children.push(child);
  const childReady = await child.start();
  const childCpu = child.cpuSeconds();
  const serverCpu = processCpuSeconds(agentPid);
  const childOutput = join(stack.root, 'child-output.bin');
  const cli = await timed([process.execPath, ...profile, bin, 'get', artifact.url, '-o', childOutput, '--api', `http://127.0.0.1:${Number(childReady.apiPort)}`]);
  const childCpuUsed = child.cpuSeconds() - childCpu;
  const serverCpuUsed = processCpuSeconds(agentPid) - serverCpu;
  if ((await sha256File(childOutput)) !== artifact.sha256) throw new Error('mayfly get wrote bytes that are not the object');
  const receive = perGB({ cpuSeconds: childCpuUsed + cli.cpuSeconds, wallSeconds: cli.wallSeconds }, size);
  const agentToAgent = {
    MBps: receive.MBps,
    seconds: round(cli.wallSeconds, 2),
    cliSummary: cli.stderr.split('\n').at(-1) ?? '',
    childCpuSecondsPerGB: round(childCpuUsed / (size / 1e9), 2),
    cliCpuSecondsPerGB: round(cli.cpuSeconds / (size / 1e9), 2),
    receiveCpuSecondsPerGB: receive.cpuSecondsPerGB,
    parentCpuSecondsPerGB: round(serverCpuUsed / (size / 1e9), 2),
    childPeakRssMB: round(child.peakRssBytes() / 1e6, 0),
    cpuRatioToBaseline: round(receive.cpuSecondsPerGB / baseline.cpuSecondsPerGB, 2),
    throughputRatioToBaseline: round(receive.MBps / baseline.MBps, 2),
  };
  log(`  ${agentToAgent.cliSummary}`);
  log(
    `  ${agentToAgent.MBps} MB/s; receive CPU ${agentToAgent.receiveCpuSecondsPerGB} s/GB (agent ${agentToAgent.childCpuSecondsPerGB} + mayfly get ${agentToAgent.cliCpuSecondsPerGB}), ` +
      `parent ${agentToAgent.parentCpuSecondsPerGB} s/GB`,
  );
  if (values['cli-ab']) {
    // The CLI alone (the object is cached): this build against another, alternating, same agent.
    const childApi = `http://127.0.0.1:${Number(childReady.apiPort)}`;
    for (let r = 1; r <= 3; r++) {
      for (const [label, program] of [['this', bin], ['other', values['cli-ab']]] as const) {
        const run = await timed([process.execPath, program, 'get', artifact.url, '-o', childOutput, '--api', childApi, '-q']);
        log(`  cached get, ${label} CLI, round ${r}: ${perGB(run, size).cpuSecondsPerGB} CPU s/GB, ${perGB(run, size).MBps} MB/s`);
      }
    }
  }
  await child.stop();

  const staticMedian = median(perRound.map((r) => r.staticMBps));
  const agentMedian = median(perRound.map((r) => r.agentMBps));
  const summary = {
    date: new Date().toISOString(),
    objectBytes: size,
    pieceLength,
    inflight,
    staticMBps: round(staticMedian, 0),
    agentMBps: round(agentMedian, 0),
    ratio: round(agentMedian / staticMedian, 3),
    agentCpuSecondsPerGB: round(median(perRound.map((r) => r.agentCpuSPerGB)), 2),
    staticCpuSecondsPerGB: round(median(perRound.map((r) => r.staticCpuSPerGB)), 2),
    eightPeers: { MBps: Math.round(manyBytes / 1e6 / manySeconds), busyRetries: busy, rssBeforeMB: round(rssBefore / 1e6, 0), rssPeakMB: round(rssPeak / 1e6, 0), cpuSecondsPerGB: round(manyCpuUsed / (manyBytes / 1e9), 2) },
    rounds: perRound,
    agentToAgent,
    baseline,
    targets: {
      ratioGe0_7: agentMedian / staticMedian >= 0.7,
      rssLt150MB: rssPeak < 150e6,
      rssLe100MB: rssPeak <= 100e6,
      receiveCpuLe2xBaseline: agentToAgent.cpuRatioToBaseline <= 2,
      agentToAgentGe0_8xBaseline: agentToAgent.throughputRatioToBaseline >= 0.8,
    },
  };
  log(`\n==== summary ====`);
  log(`agent ${summary.agentMBps} MB/s vs static ${summary.staticMBps} MB/s: ratio ${summary.ratio} (target ≥ 0.70: ${summary.targets.ratioGe0_7 ? 'met' : 'MISSED'})`);
  log(`agent CPU ${summary.agentCpuSecondsPerGB} s per GB served (static server ${summary.staticCpuSecondsPerGB} s/GB)`);
  log(`receive path (agent + mayfly get): ${agentToAgent.receiveCpuSecondsPerGB} CPU s/GB vs baseline ${baseline.cpuSecondsPerGB}: ${agentToAgent.cpuRatioToBaseline} × (target ≤ 2: ${summary.targets.receiveCpuLe2xBaseline ? 'met' : 'MISSED'})`);
  log(`agent → agent: ${agentToAgent.MBps} MB/s vs baseline ${baseline.MBps} MB/s: ${agentToAgent.throughputRatioToBaseline} × (target ≥ 0.8: ${summary.targets.agentToAgentGe0_8xBaseline ? 'met' : 'MISSED'})`);
  log(`peak RSS serving ${peerCount} children: ${summary.eightPeers.rssPeakMB} MB (target ≤ 100: ${summary.targets.rssLe100MB ? 'met' : 'MISSED'})`);
  if (values.json) await writeFile(values.json, `${JSON.stringify(summary, null, 2)}\n`);
  await shutdown(0);
} catch (error) {
  console.error(`bench:dataplane failed: ${(error as Error).stack ?? error}`);
  await shutdown(1);
}

/** Into the cache, then out to `output` as `mayfly get` writes it (this process writes the file). */
async function pull(api: string, url: string, output: string): Promise<{ taskId: string }> {
  return (await pullToFile(api, url, output)) as unknown as { taskId: string };
}

function mbps(result: FetchResult): number {
  return Math.round(result.bytes / 1e6 / result.seconds);
}

function rssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
