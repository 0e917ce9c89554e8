import { Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TABLE_PARTITION_KEY, TABLE_SORT_KEY, TABLE_TTL_ATTRIBUTE } from '../../core/constants.ts';
import { lambdaBundleCode } from './local-bundle.ts';
import { acknowledge, acknowledgeWildcardResources } from './nag-acknowledgments.ts';
import { allowedOriginEntries, type MayflyOrigin } from './origin.ts';
import { grantOriginReads } from './origin-grants.ts';

/**
 * The DynamoDB actions lambdas/stores issues (GetItem, PutItem, UpdateItem, DeleteItem,
 * Query); scheduler and manager wire the same stores. No Scan, no batch or table actions.
 */
export const CONTROL_PLANE_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'] as const;

/** What agents need from a control plane: where to announce, permission to, and the origins. */
export interface IMayflyScheduler {
  /** The scheduler's HTTPS endpoint (a Function URL with AWS_IAM auth). */
  readonly schedulerUrl: string;
  /** Whether the scheduler issues peer credentials; agents of a control plane without them must serve peers without (MAYFLY_PEER_AUTH=off). */
  readonly peerAuth: boolean;
  /**
   * Lets `grantee` call the scheduler endpoint (SigV4-signed requests). When it is a role,
   * the scheduler also learns what the role stands for: hosts that assume it are agents of
   * `agent.cluster` (@default 'default'), seeds when `agent.seed` (@default false); their
   * peer id is their session name (the instance id, or the ECS task id).
   */
  grantAnnounce(grantee: iam.IGrantable, agent?: AgentRoleBinding): iam.Grant;
  /**
   * Lets `grantee` read the origins the scheduler allows, directly from S3: what an agent's
   * fallback needs when the scheduler cannot be reached (HeadObject, ranged GetObject).
   */
  grantOriginRead(grantee: iam.IGrantable): iam.Grant[];
}

/** What the hosts of one IAM role are to the scheduler (MAYFLY_AGENT_ROLES). */
export interface AgentRoleBinding {
  /** @default 'default' */
  readonly cluster?: string;
  /** @default false */
  readonly seed?: boolean;
  /**
   * For an ECS task role: the ECS cluster (ARN) its tasks run in, so the scheduler can look
   * each task up (DescribeTasks) and bind its site and address to ECS's record.
   * @default - an EC2 instance role: its hosts are looked up with DescribeInstances
   */
  readonly ecsCluster?: string;
}

export interface MayflyControlPlaneProps {
  /** S3 locations agents may pull; the scheduler may read only these. */
  readonly origins: MayflyOrigin[];
  /**
   * How long the Lambdas' logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the table when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * Memory of each Lambda; CPU scales with it, and so does cold-start time.
   * @default 1024
   */
  readonly memorySize?: number;
  /**
   * Agents per task per site allowed to read S3 at once.
   * @default - the scheduler's default (1)
   */
  readonly backToSourceLimit?: number;
  /**
   * Parents handed to an agent per announce.
   * @default - the scheduler's default (4)
   */
  readonly parentLimit?: number;
  /**
   * Map stack traces to the TypeScript sources (`--enable-source-maps`). Off by default:
   * it adds 30–40 ms to every cold start (docs/BENCHMARKS.md); the maps are shipped either
   * way, so turn it on while debugging or map traces offline.
   * @default false
   */
  readonly enableSourceMaps?: boolean;
  /**
   * Whether the scheduler signs peer credentials (Ed25519, key derived from a generated
   * secret). Agents require them by default: with `false`, agents must run with
   * `MAYFLY_PEER_AUTH=off` or they serve no peer.
   * @default true
   */
  readonly peerAuth?: boolean;
  /**
   * How many times Lambda retries a failed asynchronous preheat invocation (an S3 event)
   * before it goes to `preheatDeadLetterQueue`.
   * @default 2
   */
  readonly preheatRetryAttempts?: number;
}

/**
 * Mayfly's serverless control plane: one DynamoDB table, the scheduler and manager
 * Lambdas (esbuild bundles, Node 22 on arm64), and an IAM-authenticated HTTPS endpoint each.
 */
export class MayflyControlPlane extends Construct implements IMayflyScheduler {
  readonly table: dynamodb.Table;
  readonly schedulerFunction: NodejsFunction;
  readonly managerFunction: NodejsFunction;
  /** Handles S3 ObjectCreated notifications: opens preheat jobs (the manager's `s3EventHandler`). */
  readonly preheatFunction: NodejsFunction;
  /** The secret agents' peer credentials derive from, when peer auth is on. */
  readonly peerSecret?: secretsmanager.Secret;
  readonly schedulerFunctionUrl: lambda.FunctionUrl;
  readonly managerFunctionUrl: lambda.FunctionUrl;
  readonly schedulerUrl: string;
  readonly peerAuth: boolean;
  readonly managerUrl: string;
  /** S3 events the preheat function failed on after its retries (kept 14 days, encrypted). */
  readonly preheatDeadLetterQueue: sqs.Queue;
  /** Computes the piece digests of S3 objects (invoked asynchronously by the scheduler, one job per event). */
  readonly digestFunction: NodejsFunction;
  /** Digest jobs that failed after their retries (the scheduler dispatches a task's jobs again later). */
  readonly digestDeadLetterQueue: sqs.Queue;
  private readonly origins: readonly MayflyOrigin[];
  private readonly agentRoles: Array<{ role: string; cluster: string; seed: boolean; ecsCluster?: string }> = [];

  constructor(scope: Construct, id: string, props: MayflyControlPlaneProps) {
    super(scope, id);
    if (props.origins.length === 0) throw new Error('MayflyControlPlane: at least one origin bucket is required');
    this.origins = props.origins;

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_SORT_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    const environment: Record<string, string> = {
      MAYFLY_TABLE: this.table.tableName,
      // Stack traces point at the TypeScript sources through the bundled source map.
      ...(props.enableSourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
    };
    if (props.peerAuth ?? true) {
      this.peerSecret = new secretsmanager.Secret(this, 'PeerSecret', {
        description: 'Mayfly: per-task peer credentials derive from this',
        generateSecretString: { passwordLength: 48, excludePunctuation: true },
      });
      acknowledge(
        this.peerSecret,
        'AwsSolutions-SMG4',
        'Rotating the key would invalidate every peer credential in flight (15-minute lifetime); the scheduler holds one key, so rotation needs a key-overlap scheme first.',
      );
    }
    this.schedulerFunction = this.createFunction('Scheduler', 'scheduler', 'handler', props, {
      ...environment,
      // The function reads the value when it starts: it is in no template and no function configuration.
      ...(this.peerSecret ? { MAYFLY_PEER_SECRET_ARN: this.peerSecret.secretArn } : {}),
      MAYFLY_ALLOWED_ORIGINS: allowedOriginEntries(props.origins).join(','),
      // The roles agents call with, filled in as fleets are granted (grantAnnounce): a role outside it is refused.
      MAYFLY_AGENT_ROLES: Lazy.string({ produce: () => Stack.of(this).toJsonString(this.agentRoles) }),
      // An IAM caller's site and advertised addresses come from EC2's and ECS's records of it.
      MAYFLY_HOST_RECORDS: 'cloud',
      ...(props.backToSourceLimit === undefined ? {} : { MAYFLY_BACK_TO_SOURCE_LIMIT: String(props.backToSourceLimit) }),
      ...(props.parentLimit === undefined ? {} : { MAYFLY_PARENT_LIMIT: String(props.parentLimit) }),
    });
    this.peerSecret?.grantRead(this.schedulerFunction);
    // The IAM caller's own record: its zone is its site, its private addresses the only ones it may advertise.
    this.schedulerFunction.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['ec2:DescribeInstances', 'ecs:DescribeTasks', 'ecs:DescribeContainerInstances'], resources: ['*'] }),
    );
    acknowledgeWildcardResources(
      this.schedulerFunction.grantPrincipal,
      ['*'],
      'Read-only: ec2:DescribeInstances supports no resource-level permissions, and the scheduler looks up whichever instance or ECS task signed an announce (its role is already in MAYFLY_AGENT_ROLES).',
    );
    // The control plane computes S3 objects' piece digests itself: jobs of up to 256 MiB, read
    // in-region (at 1,769 MB a function has one full vCPU for sha256).
    this.digestFunction = this.createFunction('Digest', 'digest', 'handler', props, environment, { memorySize: 1769, timeout: Duration.minutes(15) });
    this.digestDeadLetterQueue = new sqs.Queue(this, 'DigestDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.digestDeadLetterQueue, 'AwsSolutions-SQS3', 'This queue is itself the dead-letter destination of the digest function; nothing consumes it but an operator.');
    this.digestFunction.configureAsyncInvoke({ onFailure: new SqsDestination(this.digestDeadLetterQueue), retryAttempts: 2 });
    this.schedulerFunction.addEnvironment('MAYFLY_DIGEST_FUNCTION', this.digestFunction.functionName);
    // The function itself, not its versions (grantInvoke would add `:*`).
    this.schedulerFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.digestFunction.functionArn] }));
    this.managerFunction = this.createFunction('Manager', 'manager', 'handler', props, environment);
    this.preheatFunction = this.createFunction('Preheat', 'manager', 's3EventHandler', props, environment);
    this.preheatDeadLetterQueue = new sqs.Queue(this, 'PreheatDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.preheatDeadLetterQueue, 'AwsSolutions-SQS3', 'This queue is itself the dead-letter destination of the preheat function; nothing consumes it but an operator.');
    this.preheatFunction.configureAsyncInvoke({
      onFailure: new SqsDestination(this.preheatDeadLetterQueue),
      retryAttempts: props.preheatRetryAttempts ?? 2,
    });

    // HeadObject (task metadata), presigned GETs and ListObjectsV2 (prefix preheats) on the origins only.
    for (const fn of [this.schedulerFunction, this.managerFunction, this.preheatFunction, this.digestFunction]) {
      this.table.grant(fn, ...CONTROL_PLANE_TABLE_ACTIONS);
      grantOriginReads(fn, props.origins);
    }

    this.schedulerFunctionUrl = this.schedulerFunction.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
    this.managerFunctionUrl = this.managerFunction.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
    this.schedulerUrl = this.schedulerFunctionUrl.url;
    this.peerAuth = props.peerAuth ?? true;
    this.managerUrl = this.managerFunctionUrl.url;
  }

  /** Lets `grantee` (an agent's instance or task role) call the scheduler endpoint. */
  grantAnnounce(grantee: iam.IGrantable, agent: AgentRoleBinding = {}): iam.Grant {
    if (isRole(grantee)) {
      this.agentRoles.push({ role: grantee.roleName, cluster: agent.cluster ?? 'default', seed: agent.seed ?? false, ...(agent.ecsCluster ? { ecsCluster: agent.ecsCluster } : {}) });
    }
    return this.schedulerFunction.grantInvokeUrl(grantee);
  }

  /** Lets `grantee` (an agent's instance or task role) read the allowed origins directly. */
  grantOriginRead(grantee: iam.IGrantable): iam.Grant[] {
    return grantOriginReads(grantee, this.origins);
  }

  /** Lets `grantee` (an operator, a CI role) call the manager API. */
  grantManage(grantee: iam.IGrantable): iam.Grant {
    return this.managerFunction.grantInvokeUrl(grantee);
  }

  private createFunction(
    id: string,
    bundle: 'scheduler' | 'manager' | 'digest',
    exportName: string,
    props: MayflyControlPlaneProps,
    environment: Record<string, string>,
    sizing: { memorySize?: number; timeout?: Duration } = {},
  ): NodejsFunction {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An own role instead of AWSLambdaBasicExecutionRole: it may write to this log group only.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Mayfly ${id.toLowerCase()} function`,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
    );
    const fn = new NodejsFunction(this, id, {
      role,
      description: `Mayfly ${id.toLowerCase()}`,
      // Bundled by scripts/bundles.ts (minified ESM + source map); NodejsFunction's own
      // bundling options are therefore unused.
      code: lambdaBundleCode(bundle),
      handler: `index.${exportName}`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: sizing.memorySize ?? props.memorySize ?? 1024,
      timeout: sizing.timeout ?? Duration.seconds(15),
      environment,
      logGroup,
    });
    acknowledge(
      fn,
      'AwsSolutions-L1',
      'Node 22 is the runtime the bundles target and docs/BENCHMARKS.md measured (cold starts); moving to a newer one is a deliberate change with its own benchmark run.',
    );
    return fn;
  }
}

function isRole(grantee: iam.IGrantable): grantee is iam.IRole {
  return typeof (grantee as Partial<iam.IRole>).roleName === 'string';
}
