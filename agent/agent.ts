import { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../core/log.ts';
import type { AgentConfig } from './config.ts';
import type { DownloadLimits } from './downloader.ts';
import { LocalApi } from './local-api.ts';
import { createAgentLogger } from './logger.ts';
import { OriginFetcher } from './origin.ts';
import { PeerClient } from './peer-client.ts';
import { PeerServer } from './peer-server.ts';
import { PieceStore } from './piece-store.ts';
import { SchedulerClient } from './scheduler-client.ts';
import { TaskManager } from './task-manager.ts';

export interface RunningAgent {
  readonly peerId: string;
  readonly peerPort: number;
  readonly apiPort: number;
  readonly tasks: TaskManager;
  readonly peerServer: PeerServer;
  stop(): Promise<void>;
}

export interface AgentOverrides {
  readonly log?: Logger;
  readonly limits?: Partial<DownloadLimits>;
}

/** Wires one agent from its config: cache, peer server, scheduler client, local API. */
export async function startAgent(config: AgentConfig, overrides: AgentOverrides = {}): Promise<RunningAgent> {
  const log = overrides.log ?? createAgentLogger({ peerId: config.peerId, site: config.site }, config.logLevel);
  const store = new PieceStore(config.dataDir);
  await store.load();

  const peerServer = new PeerServer({ store, log, host: config.peerHost, port: config.peerPort, uploadConcurrency: config.uploadConcurrency });
  const peerPort = await peerServer.start();
  const s3 = new S3Client({
    region: config.s3.region,
    endpoint: config.s3.endpoint,
    forcePathStyle: config.s3.forcePathStyle,
    maxAttempts: 3,
  });
  const tasks = new TaskManager({
    store,
    scheduler: new SchedulerClient({ baseUrl: config.schedulerUrl, token: config.token }),
    identity: { peerId: config.peerId, addr: `http://${config.advertiseHost}:${peerPort}`, site: config.site, seed: config.seed },
    peers: new PeerClient({ idleTimeoutMs: 10_000, maxSocketsPerParent: 8 }),
    origin: new OriginFetcher({ s3 }),
    log,
    uploads: () => peerServer.stats.active,
    limits: overrides.limits,
  });
  const api = new LocalApi({ tasks, store, log, host: config.apiHost, port: config.apiPort });
  const apiPort = await api.start();
  tasks.resumeSeeding();
  log.info('agent ready', { peerPort, apiPort, dataDir: config.dataDir });

  return {
    peerId: config.peerId,
    peerPort,
    apiPort,
    tasks,
    peerServer,
    async stop() {
      await tasks.shutdown();
      await api.stop();
      await peerServer.stop();
      await store.closeAll();
      s3.destroy();
    },
  };
}
