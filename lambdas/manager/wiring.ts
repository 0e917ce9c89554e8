import { createS3Client, storeEnvironment, type S3ClientOptions } from '../stores/s3-client.ts';
import { createLogger, type Logger } from '../../core/log.ts';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from '../scheduler/heartbeat.ts';
import { MetricEmitter } from '../shared/metrics.ts';
import { DynamoClusterStore } from '../stores/cluster-store.ts';
import { createDynamoClient, type DynamoClientOptions } from '../stores/dynamo-client.ts';
import { DynamoHostStore } from '../stores/host-store.ts';
import { DynamoPeerStore } from '../stores/peer-store.ts';
import { DynamoPreheatStore } from '../stores/preheat-store.ts';
import { S3PrefixLister } from '../stores/s3-lister.ts';
import { S3OriginReader } from '../stores/s3-origin.ts';
import { DynamoTaskStore } from '../stores/task-store.ts';
import { DynamoTokenStore } from '../stores/token-store.ts';
import { createManagerApp } from './app.ts';
import { ClusterService } from './cluster-service.ts';
import { HostService } from './host-service.ts';
import { PreheatService } from './preheat-service.ts';
import { handleS3Event } from './s3-events.ts';
import { handleEcrEvent } from './ecr-events.ts';
import { ImagePreheatService } from './image-preheat-service.ts';
import { RegistryUpstreams } from '../../core/registry-upstreams.ts';
import { RegistryManifestReader } from '../stores/registry-manifest-reader.ts';
import { ManagerService } from './service.ts';
import { TokenService } from './token-service.ts';

/** Creates the single table if it is missing (`mayfly manager --create-table`). */
export { ensureTable } from '../stores/table-schema.ts';

export interface ManagerWiringOptions {
  readonly tableName: string;
  readonly dynamo?: DynamoClientOptions;
  /** S3 client options for HeadObject and ListObjectsV2 of preheat (local endpoint, path style). */
  readonly s3?: S3ClientOptions;
  readonly token?: string;
  readonly log?: Logger;
  /** The agents' heartbeat interval; a host is live for three of them. */
  readonly heartbeatIntervalMs?: number;
  /** Embedded-metric lines; default stdout when no `log` is given either, else none. */
  readonly metricsSink?: (line: string) => void;
  /** Image preheat: registry host → URL as the agents' `--registry-upstream` (`name=url,…`), and `host=user:password,…` credentials. */
  readonly registries?: { readonly upstreams?: string; readonly credentials?: string };
}

export function createManager(options: ManagerWiringOptions) {
  const log = options.log ?? createLogger({ sink: (line) => console.log(line), fields: { service: 'manager' } });
  const dynamo = createDynamoClient(options.dynamo);
  const s3 = createS3Client(options.s3);
  const liveMs = 3 * (options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS);
  const clusterStore = new DynamoClusterStore(dynamo, options.tableName);
  const hostStore = new DynamoHostStore(dynamo, options.tableName);
  const service = new ManagerService({
    tasks: new DynamoTaskStore(dynamo, options.tableName),
    peers: new DynamoPeerStore(dynamo, options.tableName),
  });
  const clusters = new ClusterService(clusterStore);
  const hosts = new HostService(hostStore, liveMs);
  const preheat = new PreheatService({
    jobs: new DynamoPreheatStore(dynamo, options.tableName),
    hosts: hostStore,
    clusters: clusterStore,
    origin: new S3OriginReader(s3),
    lister: new S3PrefixLister(s3),
    log,
    seedLiveMs: liveMs,
  });
  const imagePreheat = new ImagePreheatService({
    jobs: new DynamoPreheatStore(dynamo, options.tableName),
    hosts: hostStore,
    clusters: clusterStore,
    registry: new RegistryManifestReader(options.registries?.credentials),
    upstreams: RegistryUpstreams.parse(options.registries?.upstreams),
    log,
    seedLiveMs: liveMs,
  });
  const tokens = new TokenService(new DynamoTokenStore(dynamo, options.tableName));
  const metrics = new MetricEmitter(options.metricsSink ?? (options.log ? () => {} : (line) => console.log(line)), 'manager');
  const app = createManagerApp({ service, clusters, hosts, preheat, imagePreheat, tokens, log, token: options.token, metrics });
  /** S3 event notifications (ObjectCreated) → preheat jobs. */
  const onS3Event = (event: unknown) => handleS3Event(event, preheat, log);
  /** EventBridge `ECR Image Action` (PUSH) → image preheat jobs. */
  const onEcrEvent = (event: unknown) => handleEcrEvent(event, imagePreheat, log);
  return { app, service, clusters, hosts, preheat, imagePreheat, tokens, onS3Event, onEcrEvent, dynamo, s3 };
}

export function managerOptionsFromEnv(env: NodeJS.ProcessEnv): ManagerWiringOptions {
  return {
    ...storeEnvironment(env),
    token: env.MAYFLY_TOKEN || undefined,
    heartbeatIntervalMs: env.MAYFLY_HEARTBEAT_INTERVAL_MS ? Number(env.MAYFLY_HEARTBEAT_INTERVAL_MS) : undefined,
    registries: { upstreams: env.MAYFLY_REGISTRY_UPSTREAMS || undefined, credentials: env.MAYFLY_REGISTRY_CREDENTIALS || undefined },
  };
}
