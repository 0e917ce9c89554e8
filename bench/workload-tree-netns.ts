/**
 * The tree workload on the shaped topology the file workload uses (topology.ts: one site,
 * each host its own namespace at --host-mbit, the origin at --origin-mbit, tbf): N hosts
 * pull one model tree (many small files plus a few shards) at once with `mayfly get -r`
 * through their own agents. The S3 stand-in (tree-origin-host.ts) sits in the origin
 * namespace; the control plane in its own, its digest service reading S3 over the
 * unshaped in-region link. Reported: S3 GETs by the site / (objects + shard pieces),
 * bytes that left the origin's link / the tree's bytes, and slowest host / T_min (the
 * fluid bound with F = the tree's bytes).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AGENT_NODE_OPTIONS } from '../core/constants.ts';
import { choosePieceLength, pieceCountOf } from '../core/piece-math.ts';
import { agentBinary } from './agent-binary.ts';
import { onShapedSite, originCounters, originTx, shapedSiteBound } from './netns-run.ts';
import { NsProcess } from './ns-process.ts';
import { AGENT_API_PORT, REPO_ROOT, S3_PORT, SCHEDULER_PORT, baseEnv, benchAgentEnv, benchScript } from './swarm-phase.ts';

const run = promisify(execFile);

export interface NetnsTreeOptions {
  readonly hosts: number;
  readonly files: number;
  readonly fileKiB: number;
  readonly shards: number;
  readonly shardMiB: number;
  readonly parallel: number;
  /** Scheduling priority (nice) of the hosts' agents and CLIs: the control plane and S3 have machines of their own in production. */
  readonly hostsNice: number;
  readonly hostMbit: number;
  readonly originMbit: number;
  readonly mtu: number;
  /** The control host's DynamoDB stand-in: DynamoDB Local (its own JVM, both cores) or dynalite (in the control host's event loop). */
  readonly dynamo: 'dynalite' | 'dynamodb-local';
  /** Copy the agents', control plane's and origin's logs here before the run's folder is removed. */
  readonly logs?: string;
  readonly log: (line: string) => void;
}

export interface NetnsTreeReport {
  readonly hosts: number;
  readonly objects: number;
  readonly treeBytes: number;
  readonly shardPieces: number;
  readonly boundSeconds: number;
  readonly s3Gets: number;
  readonly s3GetsPerObjectAndPiece: number;
  /** Bytes that left the origin namespace's shaped link / the tree's bytes. */
  readonly originLinkRatio: number;
  /** Body bytes S3 served the site / the tree's bytes (the digest service's in-region reads apart). */
  readonly originBytesPerTree: number;
  readonly seconds: readonly number[];
  readonly maxSeconds: number;
  readonly maxOverBound: number;
  readonly verified: boolean;
  readonly load: readonly number[];
}

export async function runNetnsTreeWorkload(options: NetnsTreeOptions): Promise<NetnsTreeReport> {
  const { log } = options;
  return onShapedSite('tree', options, async (topology, root) => {
    log(`network: ${options.hosts} hosts at ${options.hostMbit} Mbit/s up and down, origin at ${options.originMbit} Mbit/s, MTU ${options.mtu}`);
    const originHost = topology.origin.addresses[0];
    const origin = new NsProcess({
      name: 'tree origin', ns: topology.origin.ns, command: process.execPath,
      args: ['--import', 'tsx', benchScript('tree-origin-host.ts'), '--dir', join(root, 's3'), '--port', String(S3_PORT), '--files', String(options.files),
        '--file-kib', String(options.fileKiB), '--shards', String(options.shards), '--shard-mib', String(options.shardMiB)],
      cwd: REPO_ROOT, env: baseEnv(), logFile: join(root, 'origin.log'), readyTimeoutMs: 300_000, nice: -5,
    });
    const ready = await origin.start();
    const url = String(ready.url);
    const treeBytes = Number(ready.treeBytes);
    const shardBytes = options.shardMiB * 1024 * 1024;
    const shardPieces = options.shards * pieceCountOf(shardBytes, choosePieceLength(shardBytes));
    log(`tree: ${url}, ${options.files} × ${options.fileKiB} KiB + ${options.shards} × ${options.shardMiB} MiB = ${(treeBytes / 2 ** 20).toFixed(1)} MiB`);
    const token = randomBytes(16).toString('hex');
    const control = new NsProcess({
      name: 'control', ns: topology.control.ns, command: process.execPath,
      args: ['--import', 'tsx', benchScript('control-host.ts'), '--port', String(SCHEDULER_PORT), '--s3-endpoint', `http://${originHost}:${S3_PORT}`,
        '--digest-s3-endpoint', `http://${topology.originInRegion}:${S3_PORT + 1}`, '--allowed-origins', url.slice('s3://'.length), '--dynamo', options.dynamo],
      cwd: REPO_ROOT,
      env: { ...baseEnv(), MAYFLY_TOKEN: token, MAYFLY_PEER_SECRET: randomBytes(32).toString('hex'), MAYFLY_BENCH_AGENTS: JSON.stringify(topology.hosts.map((h) => ({ peerId: h.name, site: 'site-a', addrs: [h.address] }))) },
      logFile: join(root, 'control.log'), nice: -5, readyTimeoutMs: 120_000,
    });
    const agentTokens = (await control.start()).agentTokens as Record<string, string>;
    const agentBin = await agentBinary('bundle', root);
    const agents = await Promise.all(topology.hosts.map(async (host) => {
      const dataDir = join(root, host.name, 'cache');
      await mkdir(dataDir, { recursive: true });
      const agent = new NsProcess({
        name: `agent ${host.name}`, ns: host.ns, command: process.execPath, args: [...AGENT_NODE_OPTIONS, agentBin, 'agent'], cwd: REPO_ROOT,
        logFile: join(root, host.name, 'agent.log'), readyTimeoutMs: 120_000, nice: options.hostsNice,
        env: benchAgentEnv(host, topology, { token: agentTokens[host.name]!, dataDir, siteIndex: 0, siteName: 'site-a' }),
      });
      await agent.start();
      return agent;
    }));
    const bound = shapedSiteBound(treeBytes, options);
    log(`T_min (F = the tree): ${bound.seconds.toFixed(1)} s (${bound.term})`);
    const ask = originCounters(origin);
    try {
      await ask('reset');
      const linkBefore = originTx(topology);
      log(`${options.hosts} hosts run mayfly get -r at once ...`);
      const runs = await Promise.all(topology.hosts.map((host) => pullTreeIn(host.ns, agentBin, url, join(root, host.name, 'tree'), options.parallel, options.hostsNice)));
      const linkBytes = originTx(topology) - linkBefore;
      const counted = await ask('stats');
      const seconds = runs.map((r) => r.seconds);
      const maxSeconds = Math.max(...seconds);
      const s3Gets = Number(counted.gets);
      const report: NetnsTreeReport = {
        hosts: options.hosts, objects: options.files + options.shards, treeBytes, shardPieces, boundSeconds: bound.seconds,
        s3Gets, s3GetsPerObjectAndPiece: s3Gets / (options.files + shardPieces),
        originLinkRatio: linkBytes / treeBytes, originBytesPerTree: Number(counted.bytesOut) / treeBytes,
        seconds, maxSeconds, maxOverBound: maxSeconds / bound.seconds,
        verified: runs.every((r) => r.ok && r.files === options.files + options.shards),
        load: loadavg().map((value) => Number(value.toFixed(2))),
      };
      log(`S3 GETs ${s3Gets} for ${options.files} objects + ${shardPieces} shard pieces: ${report.s3GetsPerObjectAndPiece.toFixed(2)} × (target ≤ 1.2)`);
      log(`origin: ${report.originBytesPerTree.toFixed(3)} × the tree served by S3, ${report.originLinkRatio.toFixed(3)} × left the origin's link (target ≤ 1.05)`);
      log(`slowest ${maxSeconds.toFixed(1)} s = ${report.maxOverBound.toFixed(2)} × T_min (target ≤ 1.5), fastest ${Math.min(...seconds).toFixed(1)} s; every file verified: ${report.verified}; load ${report.load.join(' ')}`);
      return report;
    } finally {
      await Promise.all(agents.map((agent) => agent.stop()));
      await Promise.all([origin.stop(), control.stop()]);
      if (options.logs) await cp(root, options.logs, { recursive: true, filter: (source) => !/\/(cache|tree|s3|agent-bundle)(\/|$)/.test(source) });
    }
  });
}

/** One host's `mayfly get -r --json` in its namespace, through its agent's local API: its time and summary. */
async function pullTreeIn(ns: string, agentBin: string, url: string, dir: string, parallel: number, niceness: number): Promise<{ seconds: number; ok: boolean; files: number }> {
  const started = Date.now();
  try {
    const { stdout } = await run('ip', ['netns', 'exec', ns, 'nice', '-n', String(niceness), process.execPath, agentBin, 'get', url, '-r', '-o', dir, '--json', '--parallel', String(parallel)], {
      env: { PATH: process.env.PATH, MAYFLY_API: `http://127.0.0.1:${AGENT_API_PORT}` },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { seconds: (Date.now() - started) / 1000, ok: true, files: (JSON.parse(stdout) as { files: number }).files };
  } catch (error) {
    process.stderr.write(`${ns}: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}\n`);
    return { seconds: (Date.now() - started) / 1000, ok: false, files: 0 };
  }
}

