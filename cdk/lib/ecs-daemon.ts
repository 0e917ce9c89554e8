import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULT_PEER_PORT } from '../../core/constants.ts';
import type { IMayflyScheduler } from './control-plane.ts';
import { agentImageContext } from './local-bundle.ts';

export interface MayflyEcsDaemonProps {
  /** An ECS cluster with EC2 capacity; one agent runs on every container instance. */
  readonly cluster: ecs.ICluster;
  /** The control plane the agents announce to. */
  readonly scheduler: IMayflyScheduler;
  /**
   * The container instances' security group: the peer port is opened on it to itself.
   * @default - the port is left for you to open between the hosts
   */
  readonly hostSecurityGroup?: ec2.ISecurityGroup;
  /**
   * The agent image.
   * @default - built from this repository's agent bundle on node:22-slim (Docker needed at deploy time only)
   */
  readonly image?: ecs.ContainerImage;
  /**
   * Host folder for the piece cache, mounted into the container.
   * @default /var/cache/mayfly
   */
  readonly cacheHostPath?: string;
  /**
   * Site name the agents announce; swarms form within a site.
   * @default "default"
   */
  readonly site?: string;
  /** @default 512 */
  readonly memoryLimitMiB?: number;
  /** @default 256 */
  readonly cpu?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

const DEFAULT_BASE_IMAGE = 'public.ecr.aws/docker/library/node:22-slim';
const CONTAINER_CACHE = '/var/cache/mayfly';

/**
 * The agent as an ECS daemon service: one task per container instance, host networking so
 * peers reach it on the host's address, the cache on the host so it outlives the task.
 * The task role may call the scheduler endpoint, nothing else.
 */
export class MayflyEcsDaemon extends Construct {
  readonly service: ecs.Ec2Service;
  readonly taskDefinition: ecs.Ec2TaskDefinition;
  readonly taskRole: iam.IRole;

  constructor(scope: Construct, id: string, props: MayflyEcsDaemonProps) {
    super(scope, id);
    this.taskDefinition = new ecs.Ec2TaskDefinition(this, 'Task', { networkMode: ecs.NetworkMode.HOST });
    this.taskRole = this.taskDefinition.taskRole;
    this.taskDefinition.addVolume({ name: 'cache', host: { sourcePath: props.cacheHostPath ?? '/var/cache/mayfly' } });

    const container = this.taskDefinition.addContainer('Agent', {
      image: props.image ?? ecs.ContainerImage.fromAsset(agentImageContext(DEFAULT_BASE_IMAGE)),
      memoryLimitMiB: props.memoryLimitMiB ?? 512,
      cpu: props.cpu ?? 256,
      // The image runs as `node`; the host folder is created by Docker as root.
      user: 'root',
      environment: {
        MAYFLY_SCHEDULER_URL: props.scheduler.schedulerUrl,
        MAYFLY_AUTH: 'sigv4',
        MAYFLY_SITE: props.site ?? 'default',
        MAYFLY_DATA_DIR: CONTAINER_CACHE,
        MAYFLY_PEER_PORT: String(DEFAULT_PEER_PORT),
      },
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: 'mayfly-agent',
        logGroup: new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH }),
      }),
      portMappings: [{ containerPort: DEFAULT_PEER_PORT, hostPort: DEFAULT_PEER_PORT, protocol: ecs.Protocol.TCP }],
    });
    container.addMountPoints({ sourceVolume: 'cache', containerPath: CONTAINER_CACHE, readOnly: false });

    props.scheduler.grantAnnounce(this.taskRole);
    props.hostSecurityGroup?.addIngressRule(props.hostSecurityGroup, ec2.Port.tcp(DEFAULT_PEER_PORT), 'Mayfly pieces between agents on this cluster');

    this.service = new ecs.Ec2Service(this, 'Service', {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition,
      daemon: true,
      // Host networking binds the peer port on the host, so a host cannot run the old and
      // the new task at once: deployments stop the old agent first (its cache stays on disk).
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      circuitBreaker: { rollback: true },
    });
  }
}
