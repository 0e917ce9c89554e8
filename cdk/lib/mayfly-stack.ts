import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DEFAULT_PEER_PORT } from '../../core/constants.ts';
import { MayflyAgentFleet } from './agent-fleet.ts';
import { MayflyControlPlane } from './control-plane.ts';
import { MayflyDashboard } from './dashboard.ts';
import { MayflyEcsDaemon } from './ecs-daemon.ts';
import { acknowledge } from './nag-acknowledgments.ts';
import type { MayflyOrigin } from './origin.ts';
import { MayflyOriginEvents } from './origin-events.ts';
import { grantRegistryPulls, MayflyImageEvents } from './registry-mirrors.ts';
import { StackConfigError, type MayflyStackConfig } from './stack-config.ts';

export interface MayflyStackProps extends StackProps {
  readonly config: MayflyStackConfig;
}

/** The whole of Mayfly in one stack: control plane, origin wiring, agents and seeds, dashboard and alarms. */
export class MayflyStack extends Stack {
  readonly controlPlane: MayflyControlPlane;
  readonly dashboard: MayflyDashboard;
  readonly fleet?: MayflyAgentFleet;
  readonly ecsDaemon?: MayflyEcsDaemon;

  constructor(scope: Construct, id: string, props: MayflyStackProps) {
    super(scope, id, props);
    const { config } = props;
    if (config.ecsClusterName && !config.ecsBaseImage) {
      throw new StackConfigError('ecsCluster needs ecsBaseImage: the Node 22 image the agent image is built on, pinned by digest');
    }
    const origins = this.origins(config);

    this.controlPlane = new MayflyControlPlane(this, 'ControlPlane', { origins });
    new MayflyOriginEvents(this, 'OriginEvents', { origins, handler: this.controlPlane.preheatFunction });
    // ECR pushes → image preheats; the manager and the preheat function resolve manifests with their role.
    new MayflyImageEvents(this, 'ImageEvents', { handler: this.controlPlane.preheatFunction });
    for (const fn of [this.controlPlane.managerFunction, this.controlPlane.preheatFunction]) grantRegistryPulls(fn, config.registryMirrors ?? []);
    const { schedulerFunction, managerFunction, preheatFunction, preheatDeadLetterQueue } = this.controlPlane;
    this.dashboard = new MayflyDashboard(this, 'Dashboard', {
      functions: [schedulerFunction, managerFunction, preheatFunction],
      alarmFunctions: [schedulerFunction],
      deadLetterQueue: preheatDeadLetterQueue,
    });

    // One VPC object serves both; with only an ECS cluster it stands for the cluster's VPC
    // (pass -c vpcId=… of that VPC; otherwise a new, empty VPC is created for the reference).
    // Seeds, one per site by default, wherever agents run in a VPC this stack knows: its own
    // fleet's, or the ECS cluster's (-c vpcId=). `-c seeds=0` opts out.
    const defaultSeeds = config.fleetSize > 0 || (config.ecsClusterName !== undefined && config.vpcId !== undefined);
    const wantsFleet = config.fleetSize > 0 || (config.seeds ?? (defaultSeeds ? 1 : 0)) > 0;
    const vpc = wantsFleet || config.ecsClusterName ? this.vpc(config) : undefined;
    if (vpc && wantsFleet) {
      this.fleet = new MayflyAgentFleet(this, 'Agents', {
        vpc,
        scheduler: this.controlPlane,
        instanceType: new ec2.InstanceType(config.instanceType),
        machineImage: config.amiId ? pinnedLinuxImage(config.amiId) : undefined,
        capacity: config.fleetSize,
        // Uploads are preheated on seeds only: by default one per site (availability zone).
        seeds: config.seeds ?? vpc.availabilityZones.length,
        originFallback: config.originFallback,
        sessionManager: config.sessionManager,
        registryMirrors: config.registryMirrors,
        containerRuntime: config.containerRuntime,
      });
      if (this.fleet.logGroup) new CfnOutput(this, 'AgentLogGroup', { value: this.fleet.logGroup.logGroupName, description: 'Agent journals, one stream per instance' });
    }
    if (vpc && config.ecsClusterName) {
      const hostSecurityGroup = config.ecsHostSecurityGroupId
        ? ec2.SecurityGroup.fromSecurityGroupId(this, 'EcsHostSecurityGroup', config.ecsHostSecurityGroupId)
        : undefined;
      this.ecsDaemon = new MayflyEcsDaemon(this, 'EcsAgents', {
        cluster: ecs.Cluster.fromClusterAttributes(this, 'EcsCluster', { clusterName: config.ecsClusterName, vpc }),
        scheduler: this.controlPlane,
        baseImage: config.ecsBaseImage,
        platform: config.ecsPlatform === 'linux/arm64' ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
        hostSecurityGroup,
        originFallback: config.originFallback,
        registryMirrors: config.registryMirrors,
        containerRuntime: config.containerRuntime,
      });
      // Both kinds of agent share sites (availability zones), so they share pieces: with the
      // cluster's group known, EC2 agents and seeds and ECS agents reach each other's peer port.
      if (hostSecurityGroup && this.fleet) {
        this.fleet.connections.allowFrom(hostSecurityGroup, ec2.Port.tcp(DEFAULT_PEER_PORT), 'Mayfly pieces from ECS agents');
        hostSecurityGroup.connections.allowFrom(this.fleet.securityGroup, ec2.Port.tcp(DEFAULT_PEER_PORT), 'Mayfly pieces from EC2 agents and seeds');
      }
    }

    new CfnOutput(this, 'SchedulerUrl', { value: this.controlPlane.schedulerUrl, description: 'Agents: --scheduler (with --auth sigv4)' });
    new CfnOutput(this, 'ManagerUrl', { value: this.controlPlane.managerUrl, description: 'Operator API (SigV4, service lambda); the console: mayfly console --manager <this URL>' });
    new CfnOutput(this, 'TableName', { value: this.controlPlane.table.tableName });
    new CfnOutput(this, 'PreheatDeadLetterQueueUrl', { value: preheatDeadLetterQueue.queueUrl, description: 'S3 events the preheat function failed on' });
  }

  /** Context buckets are imported; with none, a private, encrypted origin bucket is created. */
  private origins(config: MayflyStackConfig): MayflyOrigin[] {
    if (config.origins.length === 0) {
      const bucket = new s3.Bucket(this, 'OriginBucket', {
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        encryption: s3.BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        versioned: true,
      });
      acknowledge(
        bucket,
        'AwsSolutions-S1',
        'A starter bucket for trying Mayfly; reads go through presigned URLs the scheduler logs per task. Production origins are your own buckets (-c origins=), logged as you choose.',
      );
      new CfnOutput(this, 'OriginBucketName', { value: bucket.bucketName, description: 'Upload artifacts here' });
      return [{ bucket }];
    }
    const byBucket = new Map<string, { prefixes: string[]; keyArn?: string }>();
    for (const { bucketName, prefix, keyArn } of config.origins) {
      const entry = byBucket.get(bucketName) ?? { prefixes: [], keyArn };
      if (prefix) entry.prefixes.push(prefix);
      byBucket.set(bucketName, entry);
    }
    return [...byBucket].map(([bucketName, { prefixes, keyArn }], index) => ({
      bucket: s3.Bucket.fromBucketName(this, `Origin${index}`, bucketName),
      prefixes: prefixes.length ? prefixes : undefined,
      encryptionKey: keyArn ? kms.Key.fromKeyArn(this, `OriginKey${index}`, keyArn) : undefined,
    }));
  }

  /**
   * An existing VPC is looked up (the only step that needs an account); otherwise a small
   * new one: public subnets in two AZs and an S3 gateway endpoint, no NAT gateway to pay for.
   * The agents' security group admits nothing from outside the fleet.
   */
  private vpc(config: MayflyStackConfig): ec2.IVpc {
    if (config.vpcId) return ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: config.vpcId });
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'agents', subnetType: ec2.SubnetType.PUBLIC }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    acknowledge(
      vpc,
      'AwsSolutions-VPC7',
      'A starter VPC that carries only agent traffic (peer port open to the fleet alone); flow logs of every piece transfer would cost more than the pulls. Use -c vpcId= for a VPC with your own flow logs.',
    );
    return vpc;
  }
}

/** An AMI given by id, in whatever region the stack is deployed to (the id must exist there). */
function pinnedLinuxImage(amiId: string): ec2.IMachineImage {
  return { getImage: () => ({ imageId: amiId, osType: ec2.OperatingSystemType.LINUX, userData: ec2.UserData.forLinux() }) };
}
