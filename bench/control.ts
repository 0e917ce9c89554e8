/**
 * `npm run bench:control` — the control plane's cost per announce, measured.
 *
 * The scheduler service (the same wiring the Lambda uses) runs in-process against
 * DynamoDB Local and an S3-compatible server holding a 1 GiB object. A middleware on its
 * DynamoDBClient asks for ReturnConsumedCapacity on every command and sums the units; the
 * stores are untouched. 10,000 simulated peers announce for one task like agents do:
 * register, progress rounds, finished, seeding heartbeat, holdings refresh; then the
 * digest service and a tree listing (digest-cost.ts, listing-cost.ts). A cost model prices
 * distributing 1 GiB to 1,000 hosts next to the same pull straight from S3 by an edge site.
 *
 *   npm run bench:control -- [--peers 10000] [--concurrency 32] [--json FILE]
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../core/log.ts';
import { choosePieceLength, pieceCountOf } from '../core/piece-math.ts';
import type { AnnounceRequest, AnnounceResponse } from '../core/wire/scheduler.ts';
import { announceIntervalFor } from '../lambdas/scheduler/intervals.ts';
import { DynamoSeederStore } from '../lambdas/stores/seeder-store.ts';
import { createScheduler } from '../lambdas/scheduler/wiring.ts';
import { ensureTable } from '../lambdas/stores/table-schema.ts';
import { DynamoManifestStore } from '../lambdas/stores/manifest-store.ts';
import { artifactStream } from '../local/artifact.ts';
import { startDynamoDbLocal, type DynamoServer } from '../local/dynamo-server.ts';
import { LOCAL_S3_CREDENTIALS, localS3Client, startS3Server, type S3Server } from '../local/s3-server.ts';
import type { Caller } from '../lambdas/domain/identity.ts';
import { CapacityMeter, type CapacityTotals } from './consumed-capacity.ts';
import { PRICES, controlPlaneCost, directFromS3Cost } from './cost-model.ts';
import { measureDigestCost, RecordingDispatcher } from './digest-cost.ts';
import { measureListingCost } from './listing-cost.ts';
import { percentile, round, roundCost } from './stats.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '16' },
    'round-peers': { type: 'string', default: '2000' },
    'latency-samples': { type: 'string', default: '1000' },
    json: { type: 'string' },
  },
});
const peerCount = Number(values.peers);
const concurrency = Number(values.concurrency);
const latencySamples = Number(values['latency-samples']);
// DynamoDB Local serves ~150 announces/s here; after all peers registered, the rounds use a
// random subset (peer ids hash to shards, so any subset spreads like the whole) and scale.
const roundPeers = Math.min(peerCount, Number(values['round-peers']));
const roundScale = peerCount / roundPeers;
const OBJECT_BYTES = 1024 ** 3;
const log = (line: string) => console.log(line);

let dynamo: DynamoServer | undefined;
let s3Server: S3Server | undefined;
let root: string | undefined;
async function shutdown(code: number): Promise<never> {
  await dynamo?.stop().catch(() => {});
  await s3Server?.stop().catch(() => {});
  if (root) await rm(root, { recursive: true, force: true });
  process.exit(code);
}
process.once('SIGINT', () => void shutdown(130));
process.once('SIGTERM', () => void shutdown(130));
setTimeout(() => {
  console.error('bench:control: over its 10 minute budget; stopping');
  void shutdown(3);
}, 9 * 60_000).unref();

interface PhaseStats {
  readonly name: string;
  readonly announces: number;
  readonly seconds: number;
  readonly totals: CapacityTotals;
  readonly latencyMs: { p50: number; p99: number };
  readonly busiestWriteKey?: { key: string; writes: number };
  readonly rruPerAnnounce: number;
  readonly wruPerAnnounce: number;
  readonly ruPerAnnounce: number;
  readonly dynamoRequestsPerAnnounce: number;
  readonly s3RequestsPerAnnounce: number; // HeadObject per call: a register confirms the object's version
}

try {
  root = await mkdtemp(join(tmpdir(), 'mayfly-bench-control-'));
  log('starting DynamoDB Local (Java) and the S3-compatible server ...');
  dynamo = await startDynamoDbLocal();
  s3Server = await startS3Server(join(root, 's3'), ['bench']);
  const s3 = localS3Client(s3Server.endpoint);
  await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: 'model-1GiB.bin', Body: artifactStream(OBJECT_BYTES, 'control'), ContentLength: OBJECT_BYTES }));
  s3.destroy();

  const scheduler = createScheduler({
    tableName: 'mayfly', digest: { dispatcher: new RecordingDispatcher() }, // digest jobs are measured after the announce phases
    dynamo: { endpoint: dynamo.endpoint, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS },
    s3: { endpoint: s3Server.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS },
    peerSecret: 'bench-control-secret-bench-control-secret',
    log: createLogger({ sink: () => {}, level: 'error' }),
    metricsSink: () => {},
  });
  await ensureTable(scheduler.dynamo, 'mayfly');
  const meter = new CapacityMeter(scheduler.dynamo);
  let s3Requests = 0;
  scheduler.s3.middlewareStack.add((next) => async (args) => {
    s3Requests++;
    return next(args);
  }, { step: 'initialize', name: 'benchCountS3' });
  const service = scheduler.service;

  const url = 's3://bench/model-1GiB.bin';
  const pieceCount = pieceCountOf(OBJECT_BYTES, choosePieceLength(OBJECT_BYTES));
  const peers = Array.from({ length: peerCount }, (_, i) => ({
    peerId: `peer-${String(i).padStart(5, '0')}`,
    addr: `http://10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:7402`,
    digestsKnown: 0,
    taskId: undefined as string | undefined,
  }));
  type Peer = (typeof peers)[number];
  // Each simulated host is the agent its identity proves, announcing from its own address.
  const callerOf = (peer: Peer): Caller => ({ identity: { kind: 'agent', peerId: peer.peerId, cluster: 'default', site: 'site-a', seed: false, addrs: [] }, sourceIp: new URL(peer.addr).hostname });
  let sourcePeer: Peer | undefined;

  const announce = async (peer: Peer, event: AnnounceRequest['event'], completed: number): Promise<AnnounceResponse> => {
    const answer = await service.announce({
      url,
      taskId: peer.taskId,
      peerId: peer.peerId,
      addr: peer.addr,
      site: 'site-a',
      event,
      completed,
      digestsKnown: peer.digestsKnown,
      bytesFromPeers: 0,
      bytesFromOrigin: 0,
      uploads: 0,
    }, callerOf(peer));
    peer.taskId = answer.task.id;
    peer.digestsKnown = Math.max(peer.digestsKnown, answer.digestCount);
    // In this simulation nobody renews during the herd, so the lease moves on: follow the latest holder.
    if (answer.backToSource) sourcePeer = peer;
    return answer;
  };

  const runPhase = async (name: string, parallel: number, count: number, call: (i: number) => Promise<unknown>): Promise<PhaseStats> => {
    meter.reset();
    const s3Before = s3Requests;
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        for (let i = next++; i < count; i = next++) {
          const t = performance.now();
          await call(i);
          latencies.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const totals = meter.totals;
    const stats: PhaseStats = {
      name,
      announces: count,
      seconds: round(seconds, 1),
      totals,
      latencyMs: { p50: round(percentile(latencies, 50), 2), p99: round(percentile(latencies, 99), 2) },
      busiestWriteKey: meter.busiestWriteKey(),
      rruPerAnnounce: round(totals.readUnits / count, 3),
      wruPerAnnounce: round(totals.writeUnits / count, 3),
      ruPerAnnounce: round((totals.readUnits + totals.writeUnits) / count, 3),
      dynamoRequestsPerAnnounce: round(totals.requests / count, 2),
      s3RequestsPerAnnounce: round((s3Requests - s3Before) / count, 3),
    };
    log(
      `${name.padEnd(28)} ${String(count).padStart(6)} calls ${stats.seconds.toFixed(1).padStart(6)} s  ` +
        `RU/call ${stats.ruPerAnnounce.toFixed(2).padStart(5)} (read ${stats.rruPerAnnounce.toFixed(2)}, write ${stats.wruPerAnnounce.toFixed(2)})  ` +
        `DynamoDB calls/call ${stats.dynamoRequestsPerAnnounce.toFixed(2)}  S3/call ${stats.s3RequestsPerAnnounce.toFixed(3)}  p50 ${stats.latencyMs.p50} ms  p99 ${stats.latencyMs.p99} ms`,
    );
    return stats;
  };

  log(`\n${peerCount} peers register for one task (${pieceCount} pieces of a 1 GiB object), ${concurrency} announces in flight; later rounds use ${roundPeers} of them\n`);
  const phases: PhaseStats[] = [];
  // Everyone registers at once (the thundering herd); then late joiners one at a time, as Lambda serves them (nothing coalesced).
  phases.push(await runPhase('register (all at once)', concurrency, peerCount, (i) => announce(peers[i], 'register', 0)));
  phases.push(await runPhase('register, one at a time', 1, Math.min(latencySamples, roundPeers), (i) => announce({ ...peers[i], peerId: `late-${peers[i].peerId}`, taskId: undefined }, 'register', 0)));
  // The digest service stores the manifest as it hashes S3 (one write per piece, as DigestService does).
  const taskId = peers[0].taskId!;
  if (!sourcePeer) throw new Error('no peer was granted back-to-source');
  const manifests = new DynamoManifestStore(scheduler.dynamo, 'mayfly');
  phases.push(
    await runPhase('digests stored (per piece)', 1, pieceCount, async (i) => manifests.put(taskId, new Map([[i, 'a'.repeat(63) + (i % 10)]]), 'origin')),
  );
  for (let round = 1; round <= 2; round++) {
    phases.push(
      await runPhase(`progress round ${round}`, concurrency, roundPeers, (i) => announce(peers[i], 'progress', Math.floor(((i % 97) / 97) * pieceCount))),
    );
  }
  phases.push(
    await runPhase('progress, one at a time', 1, Math.min(latencySamples, peerCount), (i) => announce(peers[i], 'progress', Math.floor(((i % 89) / 89) * pieceCount))),
  );
  phases.push(await runPhase('finished', concurrency, roundPeers, (i) => announce(peers[i], 'finished', pieceCount)));
  phases.push(await runPhase('seeding heartbeat', concurrency, roundPeers, (i) => announce(peers[i], 'progress', pieceCount)));
  phases.push(await runPhase('holdings refresh (per task)', concurrency, roundPeers, (i) => new DynamoSeederStore(scheduler.dynamo, 'mayfly').refresh({ peerId: peers[i].peerId, addr: peers[i].addr, uploads: 0, updatedAt: Date.now(), intervalMs: 30_000 }, [taskId], 3600)));

  // ---- derived figures ----
  const byName = (name: string) => phases.find((phase) => phase.name === name)!;
  const register = byName('register (all at once)');
  const progress = byName('progress round 2');
  const sequential = byName('progress, one at a time');
  const finished = byName('finished');
  const [heartbeat, refresh] = [byName('seeding heartbeat'), byName('holdings refresh (per task)')];
  const publish = byName('digests stored (per piece)');
  const interval10k = announceIntervalFor(peerCount);
  const hottest = progress.busiestWriteKey;
  // Writes a full round of all peers puts on that key, then spread over one announce interval.
  const hotKeyWritesPerRound = hottest ? hottest.writes * roundScale : 0;
  const hotKeyWritesPerSecond = hotKeyWritesPerRound / (interval10k / 1000);

  // Cost of 1 GiB to 1,000 hosts, from the per-announce units measured above.
  const hosts = 1000;
  const interval1k = announceIntervalFor(hosts) / 1000;
  const pullSeconds = 60; // a 1 GiB pull at ~150 Mbit/s per host, near the fluid bound for such hosts
  const seedingSeconds = 600; // finished agents keep seeding while the rollout lasts; their heartbeat refreshes the holdings every 30 s
  const progressPerHost = Math.ceil(pullSeconds / interval1k);
  const heartbeatsPerHost = Math.ceil(seedingSeconds / 30); // holdings refreshes (heartbeat.ts DEFAULT_HOLDINGS_INTERVAL_MS)
  // Real DynamoDB answers in ~5 ms per call in-region; DynamoDB Local on loopback is faster
  // for a single caller, so bill the larger of the two (plus ~3 ms of handler time).
  const lambdaSeconds = Math.max(sequential.latencyMs.p50, sequential.dynamoRequestsPerAnnounce * 5 + 3) / 1000;
  const usage = (withHeartbeats: boolean) => ({
    announces: hosts * (1 + progressPerHost + 1 + (withHeartbeats ? heartbeatsPerHost : 0)),
    otherRequests: 0, // digests are stored by the digest function (its cost: digestService)
    readUnits:
      hosts * (register.rruPerAnnounce + progressPerHost * progress.rruPerAnnounce + finished.rruPerAnnounce + (withHeartbeats ? heartbeatsPerHost * refresh.rruPerAnnounce : 0)) +
      publish.totals.readUnits,
    writeUnits:
      hosts * (register.wruPerAnnounce + progressPerHost * progress.wruPerAnnounce + finished.wruPerAnnounce + (withHeartbeats ? heartbeatsPerHost * refresh.wruPerAnnounce : 0)) +
      publish.totals.writeUnits,
    lambdaSeconds,
    lambdaMemoryGb: 1,
    // HeadObject per register (each confirms the object's version; Lambda coalesces nothing) plus one ranged GET per piece for the back-to-source agent.
    s3Gets: Math.ceil(hosts * Math.max(1, byName('register, one at a time').s3RequestsPerAnnounce)) + pieceCount,
  });
  const pullCost = controlPlaneCost(usage(false));
  const rolloutCost = controlPlaneCost(usage(true));
  const direct = directFromS3Cost(OBJECT_BYTES, hosts, 8 * 1024 * 1024);
  const mayflyEgress = (OBJECT_BYTES * PRICES.s3EgressPerGb) / 1e9;

  const steadyRu = progress.ruPerAnnounce;
  const digestCost = await measureDigestCost({ tableName: 'mayfly', dynamoEndpoint: dynamo.endpoint, s3Endpoint: s3Server.endpoint, jobs: (scheduler.digests as RecordingDispatcher).jobs.filter((job, i, all) => all.findIndex((other) => other.first === job.first) === i) });
  const summary = {
    date: new Date().toISOString(),
    peers: peerCount,
    concurrency,
    pieceCount, digestService: digestCost, listing: await measureListingCost({ listings: scheduler.listings, meter, s3Requests: () => s3Requests, s3Endpoint: s3Server.endpoint, bucket: 'bench', log }),
    phases: phases.map(({ totals, ...rest }) => ({ ...rest, readUnits: round(totals.readUnits, 1), writeUnits: round(totals.writeUnits, 1), dynamoRequests: totals.requests, conditionFailures: totals.conditionFailures, byCommand: totals.byCommand })),
    s3RequestsBySchedulerDuringBench: s3Requests,
    announceIntervalMsAt10k: interval10k,
    roundPeers,
    busiestWriteKey: hottest && { key: hottest.key.replace(/[0-9a-f]{64}/, '<task>'), writesPerFullRound: Math.round(hotKeyWritesPerRound), writesPerSecondAtDefaultInterval: round(hotKeyWritesPerSecond, 1) },
    registerBurst: register.busiestWriteKey && { key: register.busiestWriteKey.key.replace(/[0-9a-f]{64}/, '<task>'), writes: register.busiestWriteKey.writes },
    latencyInProcessMs: { sequential: sequential.latencyMs, concurrent: progress.latencyMs },
    costModel: {
      hosts,
      objectGiB: 1,
      assumptions: { pullSeconds, seedingSeconds, announceIntervalSeconds: interval1k, progressAnnouncesPerHost: progressPerHost, heartbeatsPerHost, lambdaBilledSeconds: lambdaSeconds, lambdaMemoryGb: 1, prices: PRICES },
      pullOnly: roundCost(pullCost),
      pullPlusTenMinutesSeeding: roundCost(rolloutCost),
      mayflyOriginEgressOneSite: round(mayflyEgress, 4),
      directFromS3: { egress: round(direct.egress, 2), requests: round(direct.requests, 4), total: round(direct.total, 2) },
    },
    targets: {
      ruPerAnnounceLe5: steadyRu <= 5,
      hotKeyLe1000WritesPerSecond: hotKeyWritesPerSecond <= 1000,
      controlPlaneLe5Cents: pullCost.controlPlane <= 0.05,
    },
  };

  log(`\n==== summary ====`);
  log(`DynamoDB request units per announce: register ${register.ruPerAnnounce}, progress ${progress.ruPerAnnounce}, finished ${finished.ruPerAnnounce}, heartbeat ${heartbeat.ruPerAnnounce}, holdings refresh ${refresh.ruPerAnnounce} per held task (target ≤ 5 for the steady announce: ${summary.targets.ruPerAnnounceLe5 ? 'met' : 'MISSED'})`);
  if (summary.busiestWriteKey) {
    log(`busiest partition key in a progress round: ${summary.busiestWriteKey.key} with ${summary.busiestWriteKey.writesPerFullRound} writes per round of all peers → ${summary.busiestWriteKey.writesPerSecondAtDefaultInterval} writes/s at the ${interval10k / 1000} s interval for ${peerCount} peers (limit 1,000/s)`);
  }
  if (summary.registerBurst) log(`register burst: ${summary.registerBurst.writes} writes on ${summary.registerBurst.key} (one per registering peer)`);
  log(`announce latency in-process: one at a time p50 ${sequential.latencyMs.p50} ms, p99 ${sequential.latencyMs.p99} ms; ${concurrency} in flight p50 ${progress.latencyMs.p50} ms, p99 ${progress.latencyMs.p99} ms`);
  log(`cost, 1 GiB to ${hosts} hosts (${progressPerHost} progress announces per host at ${interval1k} s, Lambda ${Math.round(lambdaSeconds * 1000)} ms × 1 GB):`);
  log(`  control plane for the pull: $${pullCost.controlPlane.toFixed(4)} (Lambda requests $${pullCost.lambdaRequests.toFixed(4)}, compute $${pullCost.lambdaCompute.toFixed(4)}, DynamoDB writes $${pullCost.dynamoWrites.toFixed(4)}, reads $${pullCost.dynamoReads.toFixed(4)}, S3 requests $${pullCost.s3Requests.toFixed(5)}) (target ≤ $0.05: ${summary.targets.controlPlaneLe5Cents ? 'met' : 'MISSED'})`);
  log(`  with 10 minutes of seeding (${heartbeatsPerHost} holdings refreshes per host, ${refresh.ruPerAnnounce} RU per held task each): $${rolloutCost.controlPlane.toFixed(4)}`);
  log(`  plus one copy from S3 to the site: $${mayflyEgress.toFixed(3)}; the same pull straight from S3: $${direct.total.toFixed(2)} (egress $${direct.egress.toFixed(2)})`);
  log(`digest service: ${digestCost.jobs} jobs, ${digestCost.endToEndMiBps} MiB/s here end to end (in-memory SHA-256 ${digestCost.inMemorySha256MiBps} MiB/s); $${digestCost.dollarsPerGiBAtMeasuredRate.total} per GiB at that rate ($${digestCost.dollarsPerGiBAtHashRate.total} at the hash rate), ${digestCost.lambdaMemoryGb} GB Lambda; first digest ${digestCost.firstDigestMsAfterRegister} ms after a register`);
  if (values.json) await writeFile(values.json, `${JSON.stringify(summary, null, 2)}\n`);
  await shutdown(0);
} catch (error) {
  console.error(`bench:control failed: ${(error as Error).stack ?? error}`);
  await shutdown(1);
}
