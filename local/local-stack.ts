import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { createLogger, type Logger } from '../core/log.ts';
import { createManager } from '../lambdas/manager/wiring.ts';
import { createScheduler } from '../lambdas/scheduler/wiring.ts';
import type { SchedulerSettings } from '../lambdas/scheduler/settings.ts';
import { serveApp, type RunningServer } from '../lambdas/shared/node-server.ts';
import { ensureTable } from '../lambdas/stores/table-schema.ts';
import { AgentProcess } from './agent-process.ts';
import { uploadArtifact, type Artifact } from './artifact.ts';
import { startCountingProxy, type CountingProxy } from './counting-proxy.ts';
import { startDynalite, startDynamoDbLocal, type DynamoServer } from './dynamo-server.ts';
import { LOCAL_S3_CREDENTIALS, localS3Client, startS3Server, type S3Server } from './s3-server.ts';
import { ServerProcess } from './server-process.ts';

/** What every process of the local stack runs with: the local S3 server's credentials and region. */
const LOCAL_PROCESS_ENV = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** What an agent token binds (POST /v1/tokens, scope agent); unset fields take the manager's defaults. */
export interface AgentEnrolment {
  readonly cluster?: string;
  readonly site?: string;
  readonly seed?: boolean;
  /** Hosts the agent may advertise besides its source address (default: its loopback address). */
  readonly addrs?: readonly string[];
}

export interface LocalStackOptions {
  /** Which DynamoDB-compatible server to run (default dynalite, in-process). */
  readonly dynamo?: 'dynalite' | 'dynamodb-local';
  readonly bucket?: string;
  /** Keep everything under this folder (default: a new temp folder, removed on stop). */
  readonly root?: string;
  readonly log?: Logger;
  /** Heartbeat interval the scheduler hands agents (default 1 s, so seeds pick up preheats quickly; production's is 5 s). */
  readonly heartbeatIntervalMs?: number;
  /** `nice -n` for every agent process (default 0: the stack's own priority). */
  readonly agentNiceness?: number;
  /** Forward agents' JSON logs here. */
  readonly onAgentLog?: (agent: string, line: string) => void;
  /** Scheduler settings for this stack (e.g. originRecheckMs: 0 to notice changed objects at once). */
  readonly schedulerSettings?: Partial<SchedulerSettings>;
  /** Puts a server in front of the digest service's S3 endpoint (e.g. adding S3 checksum headers); returns its endpoint. */
  readonly digestS3Front?: (endpoint: string) => Promise<{ readonly endpoint: string; stop(): Promise<void> }>;
  /** How long an HTTP(S) task stays quarantined after conflicting attestations. */
  readonly attestedQuarantineMs?: number;
  /**
   * Run the scheduler as its own process (`mayfly scheduler --create-table`), so a test can freeze it or a bench
   * give it its own event loop; then of `schedulerSettings` only `allowedOrigins` applies (no `attestedQuarantineMs`, no metric lines).
   */
  readonly schedulerProcess?: boolean;
  /** Every line the scheduler process prints (with `schedulerProcess`). */
  readonly onSchedulerLine?: (line: string) => void;
  /** The manager's registries for image preheat (upstreams `name=url,…`, credentials `host=user:password,…`). */
  readonly managerRegistries?: { readonly upstreams?: string; readonly credentials?: string };
}

/**
 * The embedded default: real protocol servers on 127.0.0.1 (DynamoDB-compatible,
 * S3-compatible behind a byte-counting proxy), the scheduler and manager Hono
 * apps on Node, and agents as separate processes.
 */
export class LocalStack {
  readonly agents: AgentProcess[] = [];
  /** The operator's token (manager API, scheduler read routes); never an agent credential. */
  readonly token = randomBytes(16).toString('hex');
  /** Each enrolled agent's own token, by peer id. */
  readonly agentTokens = new Map<string, string>();
  /** The control plane's secret for peer credentials. */
  readonly peerSecret = randomBytes(32).toString('hex');
  readonly tableName = 'mayfly';
  readonly bucket: string;
  s3!: S3Client;
  origin!: CountingProxy;
  /**
   * The digest service's own way to S3, outside the counted origin link: in AWS those reads
   * are in-region, not site egress, so every "bytes from S3" figure counts `origin` only.
   */
  digestOrigin!: CountingProxy;
  private digestFront?: { stop(): Promise<void> };
  /** In-process digest jobs, waited for before the stores stop. */
  private digestJobs?: { settled?(): Promise<void> };
  scheduler!: RunningServer;
  /** Agents reach the scheduler through this proxy, so tests can make it fail. */
  schedulerProxy!: CountingProxy;
  manager!: RunningServer;
  /** The manager's services, e.g. `onS3Event` to deliver an S3 event notification as Lambda would. */
  managerHandle!: ReturnType<typeof createManager>;
  /** CloudWatch embedded-metric lines the scheduler and manager emitted (newest last). */
  readonly metricLines: string[] = [];
  /** Heartbeat interval the scheduler hands agents here (short by default, so seeds pick up preheats quickly). */
  readonly heartbeatIntervalMs: number;
  dynamo!: DynamoServer;
  private s3Server!: S3Server;
  root!: string;
  private ownsRoot = false;

  private constructor(private readonly options: LocalStackOptions) {
    this.bucket = options.bucket ?? 'mayfly-demo';
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1_000;
  }

  static async start(options: LocalStackOptions = {}): Promise<LocalStack> {
    const stack = new LocalStack(options);
    try {
      await stack.boot();
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  /** The S3-compatible server itself (uploads; not counted as reads from the origin). */
  get s3Endpoint(): string {
    return this.s3Server.endpoint;
  }

  private async boot(): Promise<void> {
    this.ownsRoot = !this.options.root;
    this.root = this.options.root ?? (await mkdtemp(join(tmpdir(), 'mayfly-stack-')));
    await mkdir(join(this.root, 's3'), { recursive: true });
    const log = this.options.log ?? createLogger({ sink: () => {}, level: 'error' });

    this.dynamo = this.options.dynamo === 'dynamodb-local' ? await startDynamoDbLocal() : await startDynalite();
    this.s3Server = await startS3Server(join(this.root, 's3'), [this.bucket]);
    this.origin = await startCountingProxy(this.s3Server.endpoint);
    this.digestOrigin = await startCountingProxy(this.s3Server.endpoint);
    this.digestFront = await this.options.digestS3Front?.(this.digestOrigin.endpoint);
    const digestEndpoint = (this.digestFront as { endpoint?: string } | undefined)?.endpoint ?? this.digestOrigin.endpoint;
    this.s3 = localS3Client(this.s3Server.endpoint);

    const dynamo = { endpoint: this.dynamo.endpoint, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS };
    if (this.options.schedulerProcess) await this.startSchedulerProcess(digestEndpoint);
    else await this.startSchedulerInProcess(log, dynamo, digestEndpoint);
    this.schedulerProxy = await startCountingProxy(this.scheduler.url);
    const manager = createManager({
      tableName: this.tableName,
      dynamo,
      // Through the counting proxy: agents follow the presigned URLs the scheduler makes with this client.
      s3: { endpoint: this.origin.endpoint, forcePathStyle: true, credentials: LOCAL_S3_CREDENTIALS },
      token: this.token,
      log: log.child({ service: 'manager' }),
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      metricsSink: (line) => this.recordMetric(line),
      registries: this.options.managerRegistries,
    });
    this.managerHandle = manager;
    this.manager = await serveApp(manager.app);
  }

  private async startSchedulerInProcess(log: Logger, dynamo: { endpoint: string; region: string; credentials: typeof LOCAL_S3_CREDENTIALS }, digestEndpoint: string): Promise<void> {
    const scheduler = createScheduler({
      tableName: this.tableName,
      dynamo,
      // Through the counting proxy: agents follow the presigned URLs the scheduler makes with this client.
      s3: { endpoint: this.origin.endpoint, forcePathStyle: true, credentials: LOCAL_S3_CREDENTIALS },
      token: this.token,
      peerSecret: this.peerSecret,
      settings: this.options.schedulerSettings,
      log: log.child({ service: 'scheduler' }),
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      metricsSink: (line) => this.recordMetric(line),
      digest: { s3: { endpoint: digestEndpoint, forcePathStyle: true, credentials: LOCAL_S3_CREDENTIALS } },
      attestedQuarantineMs: this.options.attestedQuarantineMs,
    });
    this.digestJobs = scheduler.digests as { settled?(): Promise<void> };
    await ensureTable(scheduler.dynamo, this.tableName);
    this.scheduler = await serveApp(scheduler.app);
  }

  /** The scheduler process (with `schedulerProcess`), e.g. to freeze it with SIGSTOP. */
  schedulerServer?: ServerProcess;

  private async startSchedulerProcess(digestEndpoint: string): Promise<void> {
    const server = new ServerProcess({
      service: 'scheduler',
      args: ['--create-table'],
      onLine: this.options.onSchedulerLine,
      env: {
        ...LOCAL_PROCESS_ENV,
        MAYFLY_TABLE: this.tableName,
        MAYFLY_DYNAMODB_ENDPOINT: this.dynamo.endpoint,
        // Through the counting proxy, as in-process: agents follow the presigned URLs it makes.
        MAYFLY_S3_ENDPOINT: this.origin.endpoint,
        MAYFLY_DIGEST_S3_ENDPOINT: digestEndpoint,
        MAYFLY_TOKEN: this.token,
        MAYFLY_PEER_SECRET: this.peerSecret,
        MAYFLY_HEARTBEAT_INTERVAL_MS: String(this.heartbeatIntervalMs),
        ...(this.options.schedulerSettings?.allowedOrigins ? { MAYFLY_ALLOWED_ORIGINS: this.options.schedulerSettings.allowedOrigins.join(',') } : {}),
      },
    });
    this.schedulerServer = server;
    await server.start();
    this.scheduler = { url: server.url, port: Number(new URL(server.url).port), close: () => server.stop() };
  }

  /** The console's address, with the token in the fragment (never sent to a server). */
  get consoleUrl(): string {
    return `${this.manager.url}/console#token=${this.token}`;
  }

  private recordMetric(line: string): void {
    this.metricLines.push(line);
    if (this.metricLines.length > 5_000) this.metricLines.splice(0, 1_000);
  }

  async putArtifact(key: string, size: number, seed?: string): Promise<Artifact> {
    return uploadArtifact(this.s3, this.bucket, key, size, seed);
  }

  /**
   * Enrols an agent as an operator would: its own token from the manager (scope agent,
   * bound to the peer id, cluster, site, role and loopback address). Returns the secret;
   * enrolling a peer id again issues a new token.
   */
  async enrolAgent(peerId: string, enrolment: AgentEnrolment = {}): Promise<string> {
    const response = await fetch(`${this.manager.url}/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ name: `agent ${peerId}`, scope: 'agent', peerId, addrs: ['127.0.0.1'], ...enrolment }),
    });
    if (response.status !== 201) throw new Error(`enrolling ${peerId}: manager answered ${response.status} ${await response.text()}`);
    const { token } = (await response.json()) as { token: string };
    this.agentTokens.set(peerId, token);
    return token;
  }

  /** The agent's token, enrolled (with `enrolment`) if it has none yet. */
  async agentToken(peerId: string, enrolment: AgentEnrolment = {}): Promise<string> {
    return this.agentTokens.get(peerId) ?? this.enrolAgent(peerId, enrolment);
  }

  /** Environment for an agent process of this stack; its token must have been enrolled (agentToken). */
  agentEnv(name: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      ...LOCAL_PROCESS_ENV,
      MAYFLY_SCHEDULER_URL: this.schedulerProxy.endpoint,
      MAYFLY_TOKEN: this.agentTokens.get(extra.MAYFLY_PEER_ID ?? name) ?? '',
      MAYFLY_S3_ENDPOINT: this.origin.endpoint,
      MAYFLY_DATA_DIR: join(this.root, 'agents', name),
      MAYFLY_PEER_ID: name,
      MAYFLY_PEER_HOST: '127.0.0.1',
      MAYFLY_PEER_PORT: '0',
      MAYFLY_API_PORT: '0',
      MAYFLY_S3_PORT: '0',
      MAYFLY_REGISTRY_PORT: '0',
      ...extra,
    };
  }

  async startAgent(name: string, extra: NodeJS.ProcessEnv = {}): Promise<AgentProcess> {
    await this.agentToken(extra.MAYFLY_PEER_ID ?? name, {
      ...(extra.MAYFLY_CLUSTER ? { cluster: extra.MAYFLY_CLUSTER } : {}),
      ...(extra.MAYFLY_SITE ? { site: extra.MAYFLY_SITE } : {}),
      ...(extra.MAYFLY_SEED === 'true' ? { seed: true } : {}),
    });
    const agent = new AgentProcess({
      name,
      env: this.agentEnv(name, extra),
      niceness: this.options.agentNiceness,
      onLog: this.options.onAgentLog ? (line) => this.options.onAgentLog!(name, line) : undefined,
    });
    await agent.start();
    this.agents.push(agent);
    return agent;
  }

  async startAgents(count: number, prefix = 'agent'): Promise<AgentProcess[]> {
    const first = this.agents.length;
    return Promise.all(Array.from({ length: count }, (_, i) => this.startAgent(`${prefix}-${first + i + 1}`)));
  }

  async stop(): Promise<void> {
    // Each part gets a bounded time: a server that waits on a stuck connection must not hold up the rest.
    const bounded = (work: Promise<unknown> | undefined) => Promise.race([work?.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    await Promise.all(this.agents.map((agent) => bounded(agent.stop())));
    await bounded(this.digestJobs?.settled?.());
    await bounded(this.schedulerProxy?.stop());
    await bounded(this.scheduler?.close());
    await bounded(this.manager?.close());
    await bounded(this.origin?.stop());
    await bounded(this.digestFront?.stop());
    await bounded(this.digestOrigin?.stop());
    await bounded(this.s3Server?.stop());
    this.s3?.destroy();
    await bounded(this.dynamo?.stop());
    if (this.ownsRoot && this.root) await rm(this.root, { recursive: true, force: true });
  }
}
