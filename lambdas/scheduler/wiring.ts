import { createS3Client, storeEnvironment, type S3ClientOptions } from '../stores/s3-client.ts';
import { createLogger, type Logger } from '../../core/log.ts';
import { createDynamoClient, type DynamoClientOptions } from '../stores/dynamo-client.ts';
import { DynamoManifestStore } from '../stores/manifest-store.ts';
import { DynamoPeerStore } from '../stores/peer-store.ts';
import { S3OriginReader } from '../stores/s3-origin.ts';
import { S3ObjectLister } from '../stores/s3-object-lister.ts';
import { HttpOriginReader } from '../stores/http-origin.ts';
import { DynamoSourceGrantStore } from '../stores/source-grant-store.ts';
import { DynamoTaskStore } from '../stores/task-store.ts';
import { CachedClusterSettings, DynamoClusterStore } from '../stores/cluster-store.ts';
import { DynamoHostStore } from '../stores/host-store.ts';
import { DynamoPreheatStore } from '../stores/preheat-store.ts';
import { DynamoRegistrationCounter } from '../stores/registration-counter.ts';
import { DynamoTokenStore } from '../stores/token-store.ts';
import { parseAgentRoles, type AgentRoles } from '../domain/iam-identity.ts';
import type { IdentityResolver } from '../domain/identity.ts';
import { HttpRegistryProofReader } from '../stores/registry-proof-reader.ts';
import { IamIdentityResolver, TokenIdentityResolver } from './identity-resolvers.ts';
import type { HostDirectory } from '../domain/host-directory.ts';
import { CloudHostDirectory } from '../stores/cloud-host-directory.ts';
import { CachedHostDirectory } from './cached-host-directory.ts';
import { MetricEmitter } from '../shared/metrics.ts';
import { createSchedulerApp } from './app.ts';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, HeartbeatService } from './heartbeat.ts';
import { DynamoSeederStore } from '../stores/seeder-store.ts';
import { SeedTrigger } from './heartbeat-seeds.ts';
import { SchedulerService } from './service.ts';
import { ListingService } from './listing-service.ts';
import { PackService } from './pack-service.ts';
import type { DigestDispatcher } from '../domain/digest.ts';
import { InProcessDigestDispatcher } from '../digest/in-process-dispatcher.ts';
import { LambdaDigestDispatcher } from '../digest/lambda-dispatcher.ts';
import { createDigestService } from '../digest/wiring.ts';
import { DEFAULT_SCHEDULER_SETTINGS, type SchedulerSettings } from './settings.ts';

/** Creates the single table if it is missing (`mayfly scheduler --create-table`). */
export { ensureTable } from '../stores/table-schema.ts';

export interface SchedulerWiringOptions {
  readonly tableName: string;
  readonly dynamo?: DynamoClientOptions;
  /** S3 client options for HeadObject (local endpoint, path style). */
  readonly s3?: S3ClientOptions;
  /** The operator's bearer token (read routes only); agents use their own tokens from the manager. */
  readonly token?: string;
  /** IAM role name → cluster and seed role of the agents that assume it (MAYFLY_AGENT_ROLES). */
  readonly agentRoles?: AgentRoles;
  /**
   * Where IAM callers' sites and addresses come from: EC2's and ECS's records
   * (MAYFLY_HOST_RECORDS=cloud, as the CDK construct sets; looked up at most once per
   * host and 10 minutes). Absent: the announce's site is taken and the address must be private.
   */
  readonly hostRecords?: HostDirectory;
  /** Task registrations one agent may make a minute (MAYFLY_REGISTRATIONS_PER_MINUTE). */
  readonly registrationsPerMinute?: number;
  /** Secret peer credentials derive from (MAYFLY_PEER_SECRET); required unless peer auth is off. */
  readonly peerSecret?: string;
  readonly settings?: Partial<SchedulerSettings>;
  readonly log?: Logger;
  /** How often agents heartbeat (default 5 s); seeds pick up preheat jobs with it. */
  readonly heartbeatIntervalMs?: number;
  /**
   * Where embedded-metric lines go. Default: stdout (CloudWatch Logs in Lambda) when no `log`
   * is given either; a caller with its own logger passes a sink or gets no metric lines.
   */
  readonly metricsSink?: (line: string) => void;
  /**
   * Where S3 tasks' digests are computed: `{ functionName }` invokes the digest Lambda
   * (MAYFLY_DIGEST_FUNCTION); otherwise this process runs the digest service itself, reading
   * S3 with `s3` options (locally: an endpoint of their own, outside the counted origin link).
   */
  readonly digest?:
    | { readonly functionName: string }
    | { readonly s3?: SchedulerWiringOptions['s3']; readonly concurrency?: number }
    /** A dispatcher of the caller's (benches). */
    | { readonly dispatcher: DigestDispatcher };
  /** How long an HTTP(S) task stays quarantined after conflicting attestations. */
  readonly attestedQuarantineMs?: number;
}

/** Builds the scheduler app from plain options; used by the Lambda handler and the Node server alike. */
export function createScheduler(options: SchedulerWiringOptions) {
  const log = options.log ?? createLogger({ sink: (line) => console.log(line), fields: { service: 'scheduler' } });
  const dynamo = createDynamoClient(options.dynamo);
  const s3 = createS3Client(options.s3);
  const hosts = new DynamoHostStore(dynamo, options.tableName);
  const preheat = new DynamoPreheatStore(dynamo, options.tableName);
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const heartbeat = new HeartbeatService({ hosts, preheat, log, intervalMs: heartbeatIntervalMs, seeders: new DynamoSeederStore(dynamo, options.tableName) });
  const seeds = new SeedTrigger({ hosts, preheat, log, seedStaleMs: 3 * heartbeatIntervalMs, waitMs: 2 * heartbeatIntervalMs + 2_000 });
  // Agents require peer credentials by default: without a secret none are issued, so peers refuse each other.
  if (!options.peerSecret) log.warn('no peer secret: no peer credentials are issued; agents must run with --peer-auth off (a local stack only)');
  const metrics = new MetricEmitter(options.metricsSink ?? (options.log ? () => {} : (line) => console.log(line)), 'scheduler');
  const digests = digestDispatcherFor(options, log, metrics);
  const clusters = new CachedClusterSettings(new DynamoClusterStore(dynamo, options.tableName));
  const listings = new ListingService({ lister: new S3ObjectLister(s3), settings: { ...DEFAULT_SCHEDULER_SETTINGS, ...options.settings }, clusters });
  const tasks = new DynamoTaskStore(dynamo, options.tableName);
  const packs = new PackService({ tasks, settings: { ...DEFAULT_SCHEDULER_SETTINGS, ...options.settings }, clusters, digests, now: Date.now });
  const service = new SchedulerService({
    tasks,
    peers: new DynamoPeerStore(dynamo, options.tableName),
    grants: new DynamoSourceGrantStore(dynamo, options.tableName),
    manifests: new DynamoManifestStore(dynamo, options.tableName),
    origin: new S3OriginReader(s3),
    // Only ever asked about URLs an allowedOrigins entry admits (see TaskResolver.resolve).
    httpOrigin: new HttpOriginReader(),
    // Only ever asked about proofs a registry-storage+ entry admits (see registry-proof.ts).
    registryProofs: new HttpRegistryProofReader(),
    log,
    peerSecret: options.peerSecret,
    settings: options.settings,
    clusters,
    seeds,
    registrations: new DynamoRegistrationCounter(dynamo, options.tableName),
    registrationsPerMinute: options.registrationsPerMinute,
    digests,
    metrics,
    attestedQuarantineMs: options.attestedQuarantineMs,
  });
  const identities = identityResolver(options, new TokenIdentityResolver(options.token, new DynamoTokenStore(dynamo, options.tableName)));
  return { app: createSchedulerApp({ service, log, identities, heartbeat, metrics, listings, packs }), service, dynamo, s3, digests, listings };
}

/** A signed Function URL request's IAM caller first (only Lambda's IAM auth sets it), else the bearer token. */
function identityResolver(options: SchedulerWiringOptions, tokens: IdentityResolver): IdentityResolver {
  const records = options.hostRecords && new CachedHostDirectory(options.hostRecords);
  const iam = new IamIdentityResolver(options.agentRoles ?? new Map(), records);
  return { resolve: async (credentials) => (credentials.iamArn ? iam.resolve(credentials) : tokens.resolve(credentials)) };
}

function digestDispatcherFor(options: SchedulerWiringOptions, log: Logger, metrics: MetricEmitter): DigestDispatcher {
  const digest = options.digest ?? {};
  if ('dispatcher' in digest) return digest.dispatcher;
  if ('functionName' in digest) {
    return new LambdaDigestDispatcher({ functionName: digest.functionName, region: options.s3?.region ?? process.env.AWS_REGION ?? 'us-east-1' });
  }
  const digestLog = log.child({ service: 'digest' });
  const { service } = createDigestService({ tableName: options.tableName, dynamo: options.dynamo, s3: digest.s3 ?? options.s3, log: digestLog, metrics });
  return new InProcessDigestDispatcher((job) => service.run(job), digestLog, digest.concurrency);
}

/**
 * Options from the environment, with the peer secret read from Secrets Manager when the
 * environment names it (MAYFLY_PEER_SECRET_ARN, as the CDK construct sets) rather than
 * holding it (MAYFLY_PEER_SECRET, for local stacks).
 */
export async function resolveSchedulerOptions(
  env: NodeJS.ProcessEnv,
  readSecret: (secretId: string) => Promise<string>,
): Promise<SchedulerWiringOptions> {
  const options = schedulerOptionsFromEnv(env);
  if (options.peerSecret || !env.MAYFLY_PEER_SECRET_ARN) return options;
  return { ...options, peerSecret: await readSecret(env.MAYFLY_PEER_SECRET_ARN) };
}

/** Options from the Lambda environment (set by the CDK construct). */
export function schedulerOptionsFromEnv(env: NodeJS.ProcessEnv): SchedulerWiringOptions {
  const allowed = env.MAYFLY_ALLOWED_ORIGINS?.split(',').map((entry) => entry.trim()).filter(Boolean);
  return {
    ...storeEnvironment(env),
    token: env.MAYFLY_TOKEN || undefined,
    peerSecret: env.MAYFLY_PEER_SECRET || undefined,
    agentRoles: parseAgentRoles(env.MAYFLY_AGENT_ROLES),
    ...(env.MAYFLY_HOST_RECORDS === 'cloud' ? { hostRecords: cloudHostDirectory(env) } : {}),
    ...(env.MAYFLY_REGISTRATIONS_PER_MINUTE ? { registrationsPerMinute: Number(env.MAYFLY_REGISTRATIONS_PER_MINUTE) } : {}),
    digest: env.MAYFLY_DIGEST_FUNCTION
      ? { functionName: env.MAYFLY_DIGEST_FUNCTION }
      : env.MAYFLY_DIGEST_S3_ENDPOINT
        ? { s3: { endpoint: env.MAYFLY_DIGEST_S3_ENDPOINT, forcePathStyle: true } }
        : undefined,
    ...(env.MAYFLY_HEARTBEAT_INTERVAL_MS ? { heartbeatIntervalMs: Number(env.MAYFLY_HEARTBEAT_INTERVAL_MS) } : {}),
    settings: {
      ...(allowed?.length ? { allowedOrigins: allowed } : {}),
      ...(env.MAYFLY_BACK_TO_SOURCE_LIMIT ? { backToSourceLimit: Number(env.MAYFLY_BACK_TO_SOURCE_LIMIT) } : {}),
      ...(env.MAYFLY_PARENT_LIMIT ? { parentLimit: Number(env.MAYFLY_PARENT_LIMIT) } : {}),
    },
  };
}

/** EC2 and ECS in the function's region; MAYFLY_EC2_ENDPOINT and MAYFLY_ECS_ENDPOINT point at stand-ins (tests). */
function cloudHostDirectory(env: NodeJS.ProcessEnv): HostDirectory {
  return new CloudHostDirectory({ region: env.AWS_REGION, ec2Endpoint: env.MAYFLY_EC2_ENDPOINT || undefined, ecsEndpoint: env.MAYFLY_ECS_ENDPOINT || undefined });
}
