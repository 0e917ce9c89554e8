import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { MayflyAgentFleet } from './agent-fleet.ts';
import { MayflyControlPlane } from './control-plane.ts';
import { MayflyDashboard } from './dashboard.ts';
import { MayflyEcsDaemon } from './ecs-daemon.ts';
import type { MayflyOrigin } from './origin.ts';
import { MayflyOriginEvents } from './origin-events.ts';
import type { MayflyStackConfig } from './stack-config.ts';

export interface MayflyStackProps extends StackProps {
  readonly config: MayflyStackConfig;
}

/** The whole of Mayfly in one stack: control plane, origin wiring, agents, dashboard. */
export class MayflyStack extends Stack {
  readonly controlPlane: MayflyControlPlane;
  readonly fleet?: MayflyAgentFleet;
  readonly ecsDaemon?: MayflyEcsDaemon;

  constructor(scope: Construct, id: string, props: MayflyStackProps) {
    super(scope, id, props);
    const { config } = props;
    const origins = this.origins(config);

    this.controlPlane = new MayflyControlPlane(this, 'ControlPlane', { origins });
    new MayflyOriginEvents(this, 'OriginEvents', { origins, handler: this.controlPlane.preheatFunction });
    const { schedulerFunction, managerFunction, preheatFunction } = this.controlPlane;
    new MayflyDashboard(this, 'Dashboard', { functions: [schedulerFunction, managerFunction, preheatFunction] });

    // One VPC object serves both; with only an ECS cluster it stands for the cluster's VPC
    // (pass -c vpcId=… of that VPC; otherwise a new, empty VPC is created for the reference).
    const vpc = config.fleetSize > 0 || config.ecsClusterName ? this.vpc(config) : undefined;
    if (vpc && config.fleetSize > 0) {
      this.fleet = new MayflyAgentFleet(this, 'Agents', {
        vpc,
        scheduler: this.controlPlane,
        instanceType: new ec2.InstanceType(config.instanceType),
        capacity: config.fleetSize,
      });
    }
    if (vpc && config.ecsClusterName) {
      // Open the peer port between the cluster's hosts yourself (README, "Deploy to AWS").
      this.ecsDaemon = new MayflyEcsDaemon(this, 'EcsAgents', {
        cluster: ecs.Cluster.fromClusterAttributes(this, 'EcsCluster', { clusterName: config.ecsClusterName, vpc }),
        scheduler: this.controlPlane,
      });
    }

    new CfnOutput(this, 'SchedulerUrl', { value: this.controlPlane.schedulerUrl, description: 'Agents: --scheduler (with --auth sigv4)' });
    new CfnOutput(this, 'ManagerUrl', { value: this.controlPlane.managerUrl, description: 'Operator API (SigV4, service lambda); the console: mayfly console --manager <this URL>' });
    new CfnOutput(this, 'TableName', { value: this.controlPlane.table.tableName });
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
      new CfnOutput(this, 'OriginBucketName', { value: bucket.bucketName, description: 'Upload artifacts here' });
      return [{ bucket }];
    }
    const byBucket = new Map<string, string[]>();
    for (const { bucketName, prefix } of config.origins) {
      const prefixes = byBucket.get(bucketName) ?? [];
      if (prefix) prefixes.push(prefix);
      byBucket.set(bucketName, prefixes);
    }
    return [...byBucket].map(([bucketName, prefixes], index) => ({
      bucket: s3.Bucket.fromBucketName(this, `Origin${index}`, bucketName),
      prefixes: prefixes.length ? prefixes : undefined,
    }));
  }

  /**
   * An existing VPC is looked up (the only step that needs an account); otherwise a small
   * new one: public subnets in two AZs and an S3 gateway endpoint, no NAT gateway to pay for.
   * The agents' security group admits nothing from outside the fleet.
   */
  private vpc(config: MayflyStackConfig): ec2.IVpc {
    if (config.vpcId) return ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: config.vpcId });
    return new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'agents', subnetType: ec2.SubnetType.PUBLIC }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
  }
}
