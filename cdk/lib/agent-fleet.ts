import { BundlingOutput, Size, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { DEFAULT_PEER_PORT } from '../../core/constants.ts';
import { agentInstallCommands } from './agent-user-data.ts';
import type { IMayflyScheduler } from './control-plane.ts';
import { bundleAssetOptions } from './local-bundle.ts';

export interface MayflyAgentFleetProps {
  /** The VPC the agents run in. */
  readonly vpc: ec2.IVpc;
  /** The control plane the agents announce to. */
  readonly scheduler: IMayflyScheduler;
  /**
   * Install the agent on this autoscaling group (defined in your CDK app without a custom
   * launch template) instead of creating one.
   * @default - a new autoscaling group
   */
  readonly autoScalingGroup?: autoscaling.AutoScalingGroup;
  /**
   * Instance type of a new group. The AMI follows its architecture.
   * @default t4g.medium (Graviton)
   */
  readonly instanceType?: ec2.InstanceType;
  /**
   * Instances in a new group.
   * @default 2
   */
  readonly capacity?: number;
  /**
   * Subnets of a new group.
   * @default - the VPC's private subnets with egress, else its public subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Root volume of a new group; it holds the piece cache.
   * @default 64 GiB gp3
   */
  readonly volumeSize?: Size;
  /**
   * Cache folder on each host.
   * @default /var/cache/mayfly
   */
  readonly cacheDir?: string;
  /**
   * The agent bundle to install (a single-file S3 asset).
   * @default - built from this repository with esbuild at synth time
   */
  readonly agentBundle?: Asset;
}

/**
 * Mayfly agents on an EC2 autoscaling group: user data installs the agent bundle and runs it
 * under systemd; a security group admits the peer port only from the fleet itself; the
 * instance role may call the scheduler endpoint and read the bundle, nothing else.
 */
export class MayflyAgentFleet extends Construct implements ec2.IConnectable {
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** Members of this group may fetch pieces from each other. */
  readonly securityGroup: ec2.SecurityGroup;
  readonly connections: ec2.Connections;
  readonly agentBundle: Asset;
  readonly role: iam.IRole;

  constructor(scope: Construct, id: string, props: MayflyAgentFleetProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'PeerSecurityGroup', {
      vpc: props.vpc,
      description: 'Mayfly agents: peer port open to members of this group only',
      allowAllOutbound: true,
    });
    this.securityGroup.addIngressRule(this.securityGroup, ec2.Port.tcp(DEFAULT_PEER_PORT), 'Mayfly pieces between fleet agents');
    this.connections = this.securityGroup.connections;

    this.agentBundle = props.agentBundle ?? new Asset(this, 'AgentBundle', bundleAssetOptions('agent', BundlingOutput.SINGLE_FILE));
    const installCommands = agentInstallCommands({
      schedulerUrl: props.scheduler.schedulerUrl,
      bundleS3Url: this.agentBundle.s3ObjectUrl,
      region: Stack.of(this).region,
      cacheDir: props.cacheDir ?? '/var/cache/mayfly',
    });
    if (props.autoScalingGroup) {
      this.autoScalingGroup = props.autoScalingGroup;
      this.autoScalingGroup.addSecurityGroup(this.securityGroup);
      this.autoScalingGroup.addUserData(...installCommands);
    } else {
      const userData = ec2.UserData.forLinux();
      userData.addCommands(...installCommands);
      this.autoScalingGroup = this.createGroup(props, userData);
    }
    this.role = this.autoScalingGroup.role;

    props.scheduler.grantAnnounce(this.role);
    // Only the bundle object, not the whole asset bucket.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [this.agentBundle.bucket.arnForObjects(this.agentBundle.s3ObjectKey)] }),
    );
  }

  /**
   * An explicit launch template, so the group never falls back to a launch configuration
   * whatever the app's feature flags say.
   */
  private createGroup(props: MayflyAgentFleetProps, userData: ec2.UserData): autoscaling.AutoScalingGroup {
    const instanceType = props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM);
    const capacity = props.capacity ?? 2;
    const hasPrivate = props.vpc.privateSubnets.length > 0;
    const role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Mayfly agent hosts: call the scheduler URL, read the agent bundle',
    });
    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType,
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: cpuTypeOf(instanceType) }),
      userData,
      role,
      securityGroup: this.securityGroup,
      requireImdsv2: true,
      associatePublicIpAddress: props.vpcSubnets || hasPrivate ? undefined : true,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs((props.volumeSize ?? Size.gibibytes(64)).toGibibytes(), {
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            encrypted: true,
          }),
        },
      ],
    });
    return new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: hasPrivate ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PUBLIC },
      launchTemplate,
      minCapacity: capacity,
      maxCapacity: capacity,
    });
  }
}

function cpuTypeOf(instanceType: ec2.InstanceType): ec2.AmazonLinuxCpuType {
  return instanceType.architecture === ec2.InstanceArchitecture.ARM_64 ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64;
}
