import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULT_PEER_PORT } from '../../core/constants.ts';
import { AGENT_IMAGE_CACHE, AGENT_IMAGE_USER, agentImageContext } from './agent-image.ts';
import type { IMayflyScheduler } from './control-plane.ts';
import { acknowledge } from './nag-acknowledgments.ts';
import { addRuntimeSetupContainer, grantRegistryPulls, type ContainerRuntime } from './registry-mirrors.ts';

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
   * The agent image. It must run as uid 1000, start /opt/mayfly/entrypoint.mjs (or set the
   * site, peer id, address and region itself) and own AGENT_IMAGE_CACHE.
   * @default - built from this repository on `baseImage` for `platform` (Docker needed at deploy time only)
   */
  readonly image?: ecs.ContainerImage;
  /**
   * The Node 22 image the agent image is built on, pinned by digest
   * (`public.ecr.aws/docker/library/node:22-slim@sha256:…`), so a rebuild never picks up
   * different bytes. Required unless `image` is given; move it forward deliberately.
   * @default - none
   */
  readonly baseImage?: string;
  /**
   * CPU architecture of the cluster's container instances; the image is built for it.
   * @default Platform.LINUX_AMD64
   */
  readonly platform?: Platform;
  /**
   * Host folder for the piece cache, bind-mounted into the container. Create it owned by uid
   * 1000 on every host (the agent does not run as root).
   * @default - a Docker volume `mayfly-cache` shared by the host's agent tasks, which outlives them
   */
  readonly cacheHostPath?: string;
  /**
   * Site name the agents announce; swarms form within a site.
   * @default - the host's availability zone, from instance metadata
   */
  readonly site?: string;
  /**
   * Run every agent of this service as a seed (preheat jobs, first to S3).
   * @default false
   */
  readonly seed?: boolean;
  /**
   * The Mayfly cluster (allowlist and limits) these agents belong to; the scheduler binds it
   * to the task role, so a host cannot claim another.
   * @default 'default'
   */
  readonly mayflyCluster?: string;
  /**
   * Let the task role read the scheduler's origins directly, so the agent's fallback
   * works when the scheduler is unreachable. Off: such pulls fail.
   * @default true
   */
  readonly originFallback?: boolean;
  /** @default 512 */
  readonly memoryLimitMiB?: number;
  /** @default 256 */
  readonly cpu?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Registries (`host[:port]`) the host's container runtime pulls through the agent's mirror:
   * a setup container runs `mayfly setup` on the host's configuration first. ECS task images
   * are pulled by Docker, which does not use it (see README, Container images).
   * @default - none
   */
  readonly registryMirrors?: readonly string[];
  /** @default 'containerd' */
  readonly containerRuntime?: ContainerRuntime;
}

const CACHE_VOLUME = 'mayfly-cache';

/**
 * The agent as an ECS daemon service: one task per container instance, host networking so
 * peers reach it on the host's address, the cache outside the task so it outlives it. The
 * container runs unprivileged (uid 1000, no capabilities, read-only root filesystem); the
 * task role may call the scheduler endpoint and read the origins, nothing else.
 */
export class MayflyEcsDaemon extends Construct {
  readonly service: ecs.Ec2Service;
  readonly taskDefinition: ecs.Ec2TaskDefinition;
  readonly taskRole: iam.IRole;

  constructor(scope: Construct, id: string, props: MayflyEcsDaemonProps) {
    super(scope, id);
    this.taskDefinition = new ecs.Ec2TaskDefinition(this, 'Task', { networkMode: ecs.NetworkMode.HOST });
    this.taskRole = this.taskDefinition.taskRole;
    this.taskDefinition.addVolume(
      props.cacheHostPath
        ? { name: CACHE_VOLUME, host: { sourcePath: props.cacheHostPath } }
        : { name: CACHE_VOLUME, dockerVolumeConfiguration: { scope: ecs.Scope.SHARED, autoprovision: true, driver: 'local' } },
    );

    const linuxParameters = new ecs.LinuxParameters(this, 'Linux', { initProcessEnabled: true });
    linuxParameters.dropCapabilities(ecs.Capability.ALL);
    // The root filesystem is read-only; Node and the agent get a small scratch /tmp.
    linuxParameters.addTmpfs({ containerPath: '/tmp', size: 64, mountOptions: [ecs.TmpfsMountOption.NOSUID, ecs.TmpfsMountOption.NODEV] });

    const image = props.image ?? this.buildImage(props);
    const container = this.taskDefinition.addContainer('Agent', {
      image,
      memoryLimitMiB: props.memoryLimitMiB ?? 512,
      cpu: props.cpu ?? 256,
      user: AGENT_IMAGE_USER,
      privileged: false,
      readonlyRootFilesystem: true,
      linuxParameters,
      environment: {
        MAYFLY_SCHEDULER_URL: props.scheduler.schedulerUrl,
        MAYFLY_AUTH: 'sigv4',
        ...(props.scheduler.peerAuth ? {} : { MAYFLY_PEER_AUTH: 'off' }),
        MAYFLY_DATA_DIR: AGENT_IMAGE_CACHE,
        MAYFLY_PEER_PORT: String(DEFAULT_PEER_PORT),
        // The cluster is in the stack's region; site, peer id and address come from the host.
        AWS_REGION: Aws.REGION,
        ...(props.site ? { MAYFLY_SITE: props.site } : {}),
        ...(props.seed ? { MAYFLY_SEED: 'true' } : {}),
        ...(props.mayflyCluster ? { MAYFLY_CLUSTER: props.mayflyCluster } : {}),
      },
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: 'mayfly-agent',
        logGroup: new logs.LogGroup(this, 'Logs', {
          retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      }),
      portMappings: [{ containerPort: DEFAULT_PEER_PORT, hostPort: DEFAULT_PEER_PORT, protocol: ecs.Protocol.TCP }],
    });
    container.addMountPoints({ sourceVolume: CACHE_VOLUME, containerPath: AGENT_IMAGE_CACHE, readOnly: false });
    if (props.registryMirrors?.length) addRuntimeSetupContainer(this.taskDefinition, image, container, props.containerRuntime ?? 'containerd', props.registryMirrors);
    if (props.seed) grantRegistryPulls(this.taskRole, props.registryMirrors ?? []);
    acknowledge(
      this.taskDefinition,
      'AwsSolutions-ECS2',
      'The environment holds configuration only (scheduler URL, auth mode, port, region, site); no secret reaches the agents.',
    );

    props.scheduler.grantAnnounce(this.taskRole, {
      cluster: props.mayflyCluster ?? 'default',
      seed: props.seed ?? false,
      ecsCluster: props.cluster.clusterArn,
    });
    if (props.originFallback ?? true) props.scheduler.grantOriginRead(this.taskRole);
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

  private buildImage(props: MayflyEcsDaemonProps): ecs.ContainerImage {
    if (!props.baseImage) {
      throw new Error('MayflyEcsDaemon: baseImage is required to build the agent image: a Node 22 image pinned by digest, e.g. public.ecr.aws/docker/library/node:22-slim@sha256:<digest>');
    }
    const image = ecs.ContainerImage.fromAsset(agentImageContext(props.baseImage), { platform: props.platform ?? Platform.LINUX_AMD64 });
    // Pulling the image from the CDK assets repository: ecr:GetAuthorizationToken has no resource to narrow to.
    acknowledge(this.taskDefinition, 'AwsSolutions-IAM5[Resource::*]', 'ecr:GetAuthorizationToken (execution role, image pull) accepts only the `*` resource.');
    return image;
  }
}
