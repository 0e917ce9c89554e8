import { AGENT_VERSION } from './version.ts';
import { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../core/log.ts';
import type { AgentConfig } from './config.ts';
import type { DownloadLimits } from './task/downloader.ts';
import { LocalApi } from './local/local-api.ts';
import { createAgentLogger } from './logger.ts';
import { PeerServer } from './peer/peer-server.ts';
import { PieceStore } from './cache/piece-store.ts';
import { ChildViews } from './peer/child-view.ts';
import { PeerAuth } from './peer/peer-auth.ts';
import { FallbackOrigins } from './origin/fallback-origins.ts';
import { RegistryMirror } from './registry/registry-mirror.ts';
import { registryAwarePull } from './registry/blob-preheat.ts';
import { BlobReads } from './registry/blob-reads.ts';
import { registryAuthorizations } from './registry/registry-credentials.ts';
import { ProvingSchedulerClient, RegistryProofs } from './registry/registry-proofs.ts';
import { RegistryUpstreams } from './registry/registry-upstreams.ts';
import { createSigV4Signer } from './control/sigv4-signer.ts';
import type { TaskManager } from './task/task-manager.ts';
import { HostHeartbeat } from './control/host-heartbeat.ts';
import { MeteredOriginFetcher, MeteredPeerClient, MeteredTaskManager } from './metered.ts';
import { AgentMetrics } from './metrics.ts';
import { PreheatWorker } from './task/preheat-worker.ts';
import { S3Endpoint } from './local/s3-endpoint.ts';
import { listTree } from './local/tree-listing.ts';
import { pullPack } from './task/pack-pull.ts';
import { Throttle } from './http/throttle.ts';
import { CacheJanitor } from './task/cache-janitor.ts';
import { sweepCache } from './cache/piece-check.ts';
import { HandlePool } from './cache/handle-pool.ts';
import { SeedResumer } from './task/seed-resumer.ts';
import { defaultConnectionTotal } from './http/connection-cap.ts';
import { listingWithFallback } from './origin/direct-listing.ts';

export interface RunningAgent {
  readonly peerId: string;
  readonly peerPort: number;
  readonly apiPort: number;
  /** The S3-compatible read endpoint (GetObject, HeadObject). */
  readonly s3Port: number;
  /** The container registry mirror's port (0 when off). */
  readonly registryPort: number;
  readonly tasks: TaskManager;
  readonly peerServer: PeerServer;
  readonly metrics: AgentMetrics;
  stop(): Promise<void>;
}

export interface AgentOverrides {
  readonly log?: Logger;
  readonly limits?: Partial<DownloadLimits>;
}

/** Wires one agent from its config: cache, peer server, scheduler client, local API. */
export async function startAgent(config: AgentConfig, overrides: AgentOverrides = {}): Promise<RunningAgent> {
  const log = overrides.log ?? createAgentLogger({ peerId: config.peerId, site: config.site }, config.logLevel);
  const store = new PieceStore(config.dataDir, config.downloadLimit ? new Throttle(config.downloadLimit) : undefined, new HandlePool(config.openFiles));
  for (const repair of await store.load()) log.warn('cache repair: dropped the verified pieces of a task whose data file changed', { ...repair });
  const auth = new PeerAuth(config.dataDir, config.peerAuth);
  await auth.load();
  if (!auth.required) log.warn('peer auth is off: this agent serves its cached pieces to anyone who asks (for a local stack without a peer secret only)');
  const fallback = new FallbackOrigins(config.dataDir);
  await fallback.load();
  const views = new ChildViews();

  const peerServer = new PeerServer({
    store,
    views,
    auth,
    log,
    host: config.peerHost,
    port: config.peerPort,
    uploadConcurrency: config.uploadConcurrency,
    throttle: config.uploadLimit ? new Throttle(config.uploadLimit) : undefined,
    floor: { bytesPerSecond: config.uploadFloorRate, windowMs: config.uploadStallSeconds * 1000 },
    connections: { total: config.peerMaxConnections ?? defaultConnectionTotal(), perAddress: config.peerMaxConnectionsPerAddr },
  });
  const peerPort = await peerServer.start();
  const s3 = new S3Client({
    region: config.s3.region,
    endpoint: config.s3.endpoint,
    forcePathStyle: config.s3.forcePathStyle,
    maxAttempts: 3,
  });
  const metrics = new AgentMetrics({ peerId: config.peerId, site: config.site, cluster: config.cluster, seed: config.seed });
  const proofs = new RegistryProofs();
  const upstreams = RegistryUpstreams.parse(config.registryUpstreams);
  // Announces of a registry blob carry this host's proof (agent/registry/registry-proofs.ts).
  const scheduler = new ProvingSchedulerClient(proofs, {
    baseUrl: config.schedulerUrl,
    token: config.token,
    // In AWS the scheduler's Function URL checks SigV4 (AWS_IAM auth) instead of a token.
    sign: config.auth === 'sigv4' ? createSigV4Signer() : undefined,
  });
  const tasks = new MeteredTaskManager(metrics, {
    store,
    auth,
    fallback,
    views,
    scheduler,
    identity: { peerId: config.peerId, cluster: config.cluster, addr: `http://${config.advertiseHost}:${peerPort}`, site: config.site, seed: config.seed },
    peers: new MeteredPeerClient(metrics, { idleTimeoutMs: 10_000, maxSocketsPerParent: 8 }),
    origin: new MeteredOriginFetcher(metrics, { s3, direct: config.s3.access === 'direct' }),
    log,
    uploads: () => peerServer.stats.active,
    limits: { originInflight: config.originConcurrency, progressDeadlineMs: config.progressDeadlineSeconds * 1000, ...overrides.limits },
  });
  const cache = new CacheJanitor({ store, tasks, log, quotaBytes: config.cacheQuota });
  cache.start();
  // Scheduler unreachable: list with this host's credentials, as single-object pulls read S3 (README, fallback).
  const listPage = listingWithFallback((query: Parameters<typeof scheduler.listPage>[0]) => scheduler.listPage(query), s3, log);
  const api = new LocalApi({ tasks, store, log, host: config.apiHost, port: config.apiPort, metrics, cache, swarm: (url) => scheduler.swarm(url, config.cluster), listTree: (url) => listTree(listPage, url), pullPack: (request, signal) => pullPack(tasks, scheduler, request, signal) });
  const apiPort = await api.start();
  const s3Endpoint = new S3Endpoint({ tasks, log, host: config.apiHost, port: config.s3Port, listPage, region: config.s3.region });
  const s3Port = await s3Endpoint.start();
  const mirror = config.registryPort === undefined ? undefined : new RegistryMirror({ tasks, proofs, upstreams, log, host: config.apiHost, port: config.registryPort });
  const registryPort = (await mirror?.start()) ?? 0;
  metrics.attach({
    activeTasks: () => tasks.activeTasks,
    cacheBytes: () => cache.usedBytes(),
    cachedTasks: () => store.list().length,
    uploads: () => peerServer.stats,
  });
  // Held tasks the scheduler has no record of (after a restart) are announced one at a time, not in a burst.
  const resumer = new SeedResumer({ announce: async (taskId) => tasks.session(taskId)?.reannounce(), log });
  // Heartbeat: the manager's host list, preheat jobs for seeds, and the tasks this host seeds.
  // A registry blob's preheat first asks the registry with this seed's own credentials (agent/registry/blob-preheat.ts).
  const blobChecks = new BlobReads({ tasks, log });
  const pull = registryAwarePull({ pull: (url) => tasks.pull(url), proofs, authorizations: registryAuthorizations(config.registryCredentials), log, verify: (url, digest) => blobChecks.verify(url, digest) });
  const preheat = new PreheatWorker({ pull, log, onReport: () => heartbeat.poke() });
  const heartbeat: HostHeartbeat = new HostHeartbeat({
    scheduler,
    identity: { peerId: config.peerId, cluster: config.cluster, site: config.site, seed: config.seed, addr: `http://${config.advertiseHost}:${peerPort}` },
    load: () => ({ uploads: peerServer.stats.active, activeTasks: tasks.activeTasks, cacheBytes: cache.usedBytes() }),
    takeReports: () => preheat.takeReports(),
    returnReports: (reports) => preheat.returnReports(reports),
    onAssignments: (jobs) => (config.seed ? preheat.accept(jobs) : undefined),
    holdings: () => tasks.holdings(),
    onUnknownHoldings: (taskIds) => resumer.enqueue(taskIds),
    log,
    version: AGENT_VERSION,
  });
  heartbeat.start();
  tasks.resumeSeeding();
  let stopping = false;
  // Pieces damaged while the agent was down are found before peers ask for them (local reads check every piece anyway).
  void sweepCache(store, log, () => stopping).catch((error) => log.warn('cache check failed', { error }));
  log.info('agent ready', { peerPort, apiPort, s3Port, registryPort, dataDir: config.dataDir });

  return {
    peerId: config.peerId,
    peerPort,
    apiPort,
    s3Port,
    registryPort,
    tasks,
    peerServer,
    metrics,
    async stop() {
      stopping = true;
      cache.stop();
      heartbeat.stop();
      resumer.stop();
      preheat.stop();
      await tasks.shutdown();
      await s3Endpoint.stop();
      await mirror?.stop();
      await api.stop();
      await peerServer.stop();
      await store.closeAll();
      s3.destroy();
    },
  };
}
