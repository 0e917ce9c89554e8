/**
 * `npm run bench:swarm -- --workload tree`: a model tree (many small files plus a few big
 * shards) pulled by N hosts at once with `mayfly get -r`.
 *
 *   npm run bench:swarm -- --workload tree [--hosts 16] [--files 1000] [--file-kib 64]
 *                          [--shards 4] [--shard-mib 64] [--parallel 4] [--json FILE]
 *                          [--host-mbit 100] [--origin-mbit 100] [--mtu 9000] [--dynamo dynamodb-local|dynalite]
 *                          [--hosts-nice 10] [--logs DIR] [--loopback [--scheduler-process]]
 *
 * Reports what issue 18 (part 4) asks of a tree: S3 GETs by the site against objects +
 * pieces of the shards (target ≤ 1.2), origin bytes against the tree's size (≤ 1.05; the
 * digest service's in-region reads apart), and the slowest host against T_min (≤ 1.5).
 * By default on shaped links in network namespaces (workload-tree-netns.ts), where the
 * control host (scheduler, digest service) uses DynamoDB Local: dynalite would share the
 * control host's one event loop, which 16 hosts' announces already fill. `--loopback`
 * runs it on the local stack instead (no link rates, so no T_min), and adds scheduler
 * requests per host per tree. The control plane's own S3 calls also pass the site's
 * counting proxy, so the GET count is an upper bound on the site's. Either way the hosts'
 * agents and CLIs run at `nice -n 10` (--hosts-nice): in production the control plane and
 * S3 run on machines of their own, here they share 2 cores with every host, and a starved
 * stand-in would measure this machine, not the design. Each host's `mayfly get -r` keeps
 * the CLI's default of 4 objects in flight (--parallel).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { choosePieceLength, pieceCountOf } from '../core/piece-math.ts';
import { MAYFLY_BIN } from '../local/agent-process.ts';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from '../lambdas/scheduler/heartbeat.ts';
import { LocalStack } from '../local/local-stack.ts';
import { runNetnsTreeWorkload } from './workload-tree-netns.ts';

export interface TreeWorkloadReport {
  readonly hosts: number;
  readonly objects: number;
  readonly treeBytes: number;
  readonly shardPieces: number;
  readonly s3Gets: number;
  readonly s3GetsPerObjectAndPiece: number;
  readonly originBytesPerTree: number;
  readonly inRegionDigestBytes: number;
  readonly schedulerRequestsPerHost: number;
  readonly announcesPerHost: number;
  /** POST /v1/packs per host: one per pack of small objects (core/pack.ts). */
  readonly packOpensPerHost: number;
  readonly maxSeconds: number;
  readonly medianSeconds: number;
  readonly verified: boolean;
  readonly load: readonly number[];
}

/** Runs the workload with `argv` (the bench's own arguments); returns the process exit code. */
export async function runTreeWorkload(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      workload: { type: 'string' },
      hosts: { type: 'string', default: '16' },
      files: { type: 'string', default: '1000' },
      'file-kib': { type: 'string', default: '64' },
      shards: { type: 'string', default: '4' },
      'shard-mib': { type: 'string', default: '64' },
      parallel: { type: 'string', default: '4' },
      json: { type: 'string' },
      'scheduler-process': { type: 'boolean', default: false },
      'hosts-nice': { type: 'string', default: '10' },
      logs: { type: 'string' },
      loopback: { type: 'boolean', default: false },
      'host-mbit': { type: 'string', default: '100' },
      'origin-mbit': { type: 'string', default: '100' },
      mtu: { type: 'string', default: '9000' },
      dynamo: { type: 'string', default: 'dynamodb-local' },
    },
    strict: true,
  });
  if (values.workload !== 'tree') throw new Error(`unknown --workload ${JSON.stringify(values.workload)}; this runner takes tree`);
  const hosts = Number(values.hosts);
  const fileCount = Number(values.files);
  const fileBytes = Math.round(Number(values['file-kib']) * 1024);
  const shardCount = Number(values.shards);
  const shardBytes = Math.round(Number(values['shard-mib']) * 1024 * 1024);
  const niceness = Number(values['hosts-nice']);
  for (const [name, value] of Object.entries({ hosts, files: fileCount, 'file-kib': fileBytes, shards: shardCount, 'shard-mib': shardBytes, 'hosts-nice': niceness })) {
    if (!Number.isInteger(value) || value < 0 || (name === 'hosts' && value < 1)) throw new Error(`--${name} must be a whole number${name === 'hosts' ? ' ≥ 1' : ''}`);
  }
  for (const name of ['parallel', 'host-mbit', 'origin-mbit', 'mtu'] as const) {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number ≥ 1, not ${JSON.stringify(values[name])}`);
  }
  if (values.dynamo !== 'dynamodb-local' && values.dynamo !== 'dynalite') throw new Error(`--dynamo takes dynamodb-local or dynalite, not ${JSON.stringify(values.dynamo)}`);
  const log = (line: string) => console.log(line);
  if (!values.loopback) {
    const report = await runNetnsTreeWorkload({
      hosts, files: fileCount, fileKiB: Number(values['file-kib']), shards: shardCount, shardMiB: Number(values['shard-mib']), parallel: Number(values.parallel), hostsNice: niceness,
      hostMbit: Number(values['host-mbit']), originMbit: Number(values['origin-mbit']), mtu: Number(values.mtu), log,
      dynamo: values.dynamo,
      ...(values.logs ? { logs: values.logs } : {}),
    });
    if (values.json) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
    return report.verified ? 0 : 1;
  }
  // --scheduler-process: the scheduler (and its digest service) in its own process, apart from the
  // S3- and DynamoDB-compatible servers' event loop in this one.
  const logs = values.logs;
  if (logs) mkdirSync(logs, { recursive: true });
  const stack = await LocalStack.start({
    schedulerProcess: values['scheduler-process'],
    schedulerSettings: { allowedOrigins: ['mayfly-demo/tree-bench/'] },
    agentNiceness: niceness,
    heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
    ...(logs
      ? {
          onSchedulerLine: (line: string) => appendFileSync(join(logs, 'scheduler.log'), `${line}\n`),
          onAgentLog: (agent: string, line: string) => appendFileSync(join(logs, 'agents.log'), `${agent} ${line}\n`),
        }
      : {}),
  });
  try {
    log(`tree: ${fileCount} × ${values['file-kib']} KiB files + ${shardCount} × ${values['shard-mib']} MiB shards, ${hosts} hosts (local stack, loopback; hosts at nice ${niceness})`);
    for (let i = 0; i < fileCount; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, fileCount - i) }, (_, j) =>
          stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: `tree-bench/m/small/${(i + j) % 10}/f-${i + j}.bin`, Body: randomBytes(fileBytes) })),
        ),
      );
    }
    for (let i = 0; i < shardCount; i++) await stack.putArtifact(`tree-bench/m/shards/model-${i}.safetensors`, shardBytes);
    const agents = await stack.startAgents(hosts, 'tree');
    const treeBytes = fileCount * fileBytes + shardCount * shardBytes;
    const shardPieces = shardCount * pieceCountOf(shardBytes, choosePieceLength(shardBytes));
    stack.origin.reset();
    stack.schedulerProxy.reset();
    stack.digestOrigin.reset();
    const runs = await Promise.all(agents.map((agent) => pullTree(agent.apiUrl, `s3://${stack.bucket}/tree-bench/m/`, join(stack.root, `out-${agent.name}`), values.parallel!, niceness)));
    const seconds = runs.map((run) => run.seconds).sort((a, b) => a - b);
    const s3Gets = stack.origin.requestsBy('GET', `/${stack.bucket}/tree-bench/`);
    const report: TreeWorkloadReport = {
      hosts,
      objects: fileCount + shardCount,
      treeBytes,
      shardPieces,
      s3Gets,
      s3GetsPerObjectAndPiece: s3Gets / (fileCount + shardPieces),
      originBytesPerTree: stack.origin.bytesOut() / treeBytes,
      inRegionDigestBytes: stack.digestOrigin.bytesOut(),
      schedulerRequestsPerHost: stack.schedulerProxy.requests() / hosts,
      announcesPerHost: stack.schedulerProxy.requestsBy('POST', '/v1/announce') / hosts,
      packOpensPerHost: stack.schedulerProxy.requestsBy('POST', '/v1/packs') / hosts,
      maxSeconds: seconds.at(-1) ?? 0,
      medianSeconds: seconds[Math.floor(seconds.length / 2)] ?? 0,
      verified: runs.every((run) => run.ok && run.files === fileCount + shardCount),
      load: loadavg().map((value) => Number(value.toFixed(2))),
    };
    log(`S3 GETs ${report.s3Gets} for ${fileCount} objects + ${shardPieces} shard pieces: ${report.s3GetsPerObjectAndPiece.toFixed(2)} × (target ≤ 1.2)`);
    log(`origin bytes ${(report.originBytesPerTree).toFixed(3)} × the tree (target ≤ 1.05); digest service's in-region reads ${(report.inRegionDigestBytes / treeBytes).toFixed(3)} × apart`);
    log(`scheduler requests per host per tree ${report.schedulerRequestsPerHost.toFixed(0)} (${report.announcesPerHost.toFixed(0)} announces, ${report.packOpensPerHost.toFixed(0)} pack opens; ${(report.schedulerRequestsPerHost / report.objects).toFixed(2)} per object)`);
    log(`time per host: max ${report.maxSeconds.toFixed(1)} s, median ${report.medianSeconds.toFixed(1)} s; every file verified: ${report.verified}; load ${report.load.join(' ')}`);
    log('max / T_min needs link rates (the netns phases); on loopback it is not reported');
    if (values.json) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
    return report.verified ? 0 : 1;
  } finally {
    await stack.stop();
  }
}

/** One host's `mayfly get -r --json`: its time and summary (the CLI checks each object's bytes against the swarm's digests). */
function pullTree(api: string, url: string, dir: string, parallel: string, niceness: number): Promise<{ seconds: number; ok: boolean; files: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const argv = [process.execPath, MAYFLY_BIN, 'get', url, '-r', '-o', dir, '--json', '--parallel', parallel];
    const [command, ...args] = niceness ? ['nice', '-n', String(niceness), ...argv] : argv;
    const child = spawn(command!, args, { env: { PATH: process.env.PATH, MAYFLY_API: api }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('close', (code) => {
      let files = 0;
      try {
        files = (JSON.parse(out) as { files: number }).files;
      } catch {
        // no summary: counted as not verified
      }
      resolve({ seconds: (Date.now() - started) / 1000, ok: code === 0, files });
    });
  });
}
