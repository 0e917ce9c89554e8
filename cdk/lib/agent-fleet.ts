import { BundlingOutput, Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { DEFAULT_PEER_PORT } from '../../core/constants.ts';
import { agentInstallCommands } from './agent-user-data.ts';
import { grantRegistryPulls, type ContainerRuntime } from './registry-mirrors.ts';
import type { IMayflyScheduler } from './control-plane.ts';
import { agentBundleSha256, bundleAssetOptions } from './local-bundle.ts';
import { acknowledge } from './nag-acknowledgments.ts';

export interface MayflyAgentFleetProps {
  /** The VPC the agents run in. */
  readonly vpc: ec2.IVpc;
  /** The control plane the agents announce to. */
  readonly scheduler: IMayflyScheduler;
  /**
   * Install the agent on this autoscaling group (defined in your CDK app without a custom
   * launch template) instead of creating one. Its update and creation policies stay yours.
   * @default - a new autoscaling group
   */
  readonly autoScalingGroup?: autoscaling.AutoScalingGroup;
  /**
   * Instance type of new groups. The default AMI follows its architecture.
   * @default t4g.medium (Graviton)
   */
  readonly instanceType?: ec2.InstanceType;
  /**
   * The AMI of new groups; pin one to control when hosts change (a new image replaces hosts
   * one at a time, like a new agent). It must be Amazon Linux 2023 (dnf, nodejs22).
   * @default - the latest Amazon Linux 2023 for the instance type's architecture
   */
  readonly machineImage?: ec2.IMachineImage;
  /**
   * Instances in a new group (normal agents).
   * @default 2
   */
  readonly capacity?: number;
  /**
   * Seed agents, in a group of their own spread over the subnets' availability zones (the
   * sites): they take preheat jobs and go first to S3. Give at least one per site that should
   * be preheated.
   * @default 0
   */
  readonly seeds?: number;
  /**
   * The Mayfly cluster (allowlist and limits) these agents belong to; the scheduler binds it
   * to their instance roles, so a host cannot claim another.
   * @default 'default'
   */
  readonly mayflyCluster?: string;
  /**
   * Subnets of new groups.
   * @default - the VPC's private subnets with egress, else its public subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Root volume of new groups; it holds the piece cache.
   * @default 64 GiB gp3
   */
  readonly volumeSize?: Size;
  /**
   * Cache folder on each host.
   * @default /var/cache/mayfly
   */
  readonly cacheDir?: string;
  /**
   * The agent bundle to install (a single-file S3 asset); give `agentBundleSha256` with it.
   * @default - built from this repository with esbuild at synth time
   */
  readonly agentBundle?: Asset;
  /**
   * Hex sha256 of `agentBundle`'s file; hosts refuse a bundle that does not match.
   * @default - computed from the bundle built at synth time (required with `agentBundle`)
   */
  readonly agentBundleSha256?: string;
  /**
   * Let the instance role read the scheduler's origins directly, so the agent's fallback
   * (HeadObject and GetObject with the host's credentials when the scheduler is unreachable)
   * works. Off: a scheduler outage fails every pull that no peer can serve.
   * @default true
   */
  readonly originFallback?: boolean;
  /**
   * Attach AmazonSSMManagedInstanceCore, so operators can open a shell with Session Manager
   * (hosts have no SSH).
   * @default false
   */
  readonly sessionManager?: boolean;
  /**
   * Ship each host's agent journal to a CloudWatch Logs group (one stream per instance).
   * @default true
   */
  readonly shipLogs?: boolean;
  /**
   * How long shipped agent logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How long a new host may take to install and start the agent before its launch (and the
   * deployment) counts as failed.
   * @default Duration.minutes(15)
   */
  readonly signalTimeout?: Duration;
  /**
   * Registries (`host[:port]`, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com`) whose pulls go
   * through each host's agent mirror (user data runs `mayfly setup`); seeds may pull ECR ones
   * with their role for image preheats.
   * @default - none
   */
  readonly registryMirrors?: readonly string[];
  /** @default 'containerd' */
  readonly containerRuntime?: ContainerRuntime;
}

/**
 * Mayfly agents on EC2 autoscaling groups: user data installs the verified agent bundle and
 * runs it under systemd; a new agent version or AMI replaces hosts one at a time, each
 * reporting success (CloudFormation signal) only once the agent is running. A security group
 * admits the peer port only from the fleet itself; the instance role may call the scheduler
 * endpoint, read the bundle, read the origins (fallback) and write its log group.
 */
export class MayflyAgentFleet extends Construct implements ec2.IConnectable {
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The seed agents' group, when `seeds` > 0. */
  readonly seedGroup?: autoscaling.AutoScalingGroup;
  /** Members of this group may fetch pieces from each other. */
  readonly securityGroup: ec2.SecurityGroup;
  readonly connections: ec2.Connections;
  readonly agentBundle: Asset;
  /** The normal agents' instance role. */
  readonly role: iam.IRole;
  /** The agents' journals, when shipped. */
  readonly logGroup?: logs.LogGroup;
  private readonly roles: Array<{ role: iam.IRole; seed: boolean }> = [];
  private readonly ownRoles = new Map<boolean, iam.Role>();

  constructor(scope: Construct, id: string, props: MayflyAgentFleetProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'PeerSecurityGroup', {
      vpc: props.vpc,
      description: 'Mayfly agents: peer port open to members of this group only',
      allowAllOutbound: true,
    });
    this.securityGroup.addIngressRule(this.securityGroup, ec2.Port.tcp(DEFAULT_PEER_PORT), 'Mayfly pieces between fleet agents');
    this.connections = this.securityGroup.connections;

    if (props.agentBundle && !props.agentBundleSha256) throw new Error('MayflyAgentFleet: agentBundleSha256 is required with agentBundle');
    this.agentBundle = props.agentBundle ?? new Asset(this, 'AgentBundle', bundleAssetOptions('agent', BundlingOutput.SINGLE_FILE));
    // Without bundling (a stack excluded with --exclusively) the asset is a placeholder too.
    const bundleSha256 = props.agentBundleSha256 ?? (Stack.of(this).bundlingRequired ? agentBundleSha256() : '0'.repeat(64));
    if (props.shipLogs ?? true) {
      this.logGroup = new logs.LogGroup(this, 'AgentLogs', {
        retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
        // Like the Lambdas' logs: removed with the stack.
        removalPolicy: RemovalPolicy.DESTROY,
      });
    }
    const installCommands = (seed: boolean) =>
      agentInstallCommands({
        schedulerUrl: props.scheduler.schedulerUrl,
        bundleS3Url: this.agentBundle.s3ObjectUrl,
        bundleSha256,
        region: Stack.of(this).region,
        cacheDir: props.cacheDir ?? '/var/cache/mayfly',
        seed,
        logGroupName: this.logGroup?.logGroupName,
        registryMirrors: props.registryMirrors,
        containerRuntime: props.containerRuntime,
        environment: {
          ...(props.mayflyCluster ? { MAYFLY_CLUSTER: props.mayflyCluster } : {}),
          ...(props.scheduler.peerAuth ? {} : { MAYFLY_PEER_AUTH: 'off' }),
        },
      });

    if (props.autoScalingGroup) {
      this.autoScalingGroup = props.autoScalingGroup;
      this.autoScalingGroup.addSecurityGroup(this.securityGroup);
      this.autoScalingGroup.addUserData(...installCommands(false));
      this.roles.push({ role: this.autoScalingGroup.role, seed: false });
    } else {
      this.autoScalingGroup = this.createGroup('Group', props, props.capacity ?? 2, installCommands(false), false);
    }
    this.role = this.autoScalingGroup.role;
    if ((props.seeds ?? 0) > 0) this.seedGroup = this.createGroup('SeedGroup', props, props.seeds!, installCommands(true), true);

    for (const { role, seed } of this.roles) this.grantHost(role, props, seed);
  }

  private grantHost(role: iam.IRole, props: MayflyAgentFleetProps, seed: boolean): void {
    props.scheduler.grantAnnounce(role, { cluster: props.mayflyCluster ?? 'default', seed });
    // Image preheats: a seed asks the registry for each blob with its own role (ecr:GetAuthorizationToken).
    if (seed) grantRegistryPulls(role, props.registryMirrors ?? []);
    if (props.originFallback ?? true) props.scheduler.grantOriginRead(role);
    // Only the bundle object, not the whole asset bucket.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [this.agentBundle.bucket.arnForObjects(this.agentBundle.s3ObjectKey)] }),
    );
    if (this.logGroup) {
      this.logGroup.grantWrite(role);
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['logs:DescribeLogStreams'], resources: [this.logGroup.logGroupArn] }));
    }
    if (props.sessionManager) {
      role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore'));
      acknowledge(
        role,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
        'Session Manager was asked for (sessionManager: true); AWS maintains the exact actions its agent needs.',
      );
    }
  }

  /**
   * The instance role of groups this construct creates: one for agents, one for seeds, so
   * the scheduler knows a seed by the role it signs with (no host can claim to be one).
   */
  private instanceRole(seed: boolean): iam.Role {
    let role = this.ownRoles.get(seed);
    if (!role) {
      role = new iam.Role(this, seed ? 'SeedInstanceRole' : 'InstanceRole', {
        assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
        description: `Mayfly ${seed ? 'seed' : 'agent'} hosts: call the scheduler URL, read the agent bundle and the origins, write agent logs`,
      });
      this.ownRoles.set(seed, role);
      this.roles.push({ role, seed });
    }
    return role;
  }

  /**
   * A group with an explicit launch template (never a launch configuration, whatever the
   * app's feature flags say), replaced one host at a time: each new host signals
   * CloudFormation after the agent is active, and a host that does not fails the update,
   * which rolls back.
   */
  private createGroup(id: string, props: MayflyAgentFleetProps, capacity: number, commands: string[], seed: boolean): autoscaling.AutoScalingGroup {
    const instanceType = props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM);
    const hasPrivate = props.vpc.privateSubnets.length > 0;
    const userData = ec2.UserData.forLinux();
    // cfn-signal comes with aws-cfn-bootstrap; the exit trap that calls it reports any failure
    // after `set -euo pipefail` (the first command).
    const [strict, ...rest] = commands;
    userData.addCommands(strict, 'dnf install -y aws-cfn-bootstrap', ...rest);
    const launchTemplate = new ec2.LaunchTemplate(this, `${id}LaunchTemplate`, {
      instanceType,
      machineImage: props.machineImage ?? ec2.MachineImage.latestAmazonLinux2023({ cpuType: cpuTypeOf(instanceType) }),
      userData,
      role: this.instanceRole(seed),
      securityGroup: this.securityGroup,
      requireImdsv2: true,
      // One hop: processes on the host reach the metadata service, bridged containers do not.
      httpPutResponseHopLimit: 1,
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
    const timeout = props.signalTimeout ?? Duration.minutes(15);
    const group = new autoscaling.AutoScalingGroup(this, id, {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: hasPrivate ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PUBLIC },
      launchTemplate,
      minCapacity: capacity,
      maxCapacity: capacity,
      signals: capacity > 0 ? autoscaling.Signals.waitForAll({ timeout }) : undefined,
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        minInstancesInService: Math.max(capacity - 1, 0),
        waitOnResourceSignals: true,
        pauseTime: timeout,
      }),
    });
    userData.addSignalOnExitCommand(group);
    acknowledge(
      group,
      'AwsSolutions-AS3',
      'A failed launch fails its CloudFormation signal (the update rolls back) and the agent journal goes to CloudWatch Logs; no one subscribes to scaling notifications.',
    );
    return group;
  }
}

function cpuTypeOf(instanceType: ec2.InstanceType): ec2.AmazonLinuxCpuType {
  return instanceType.architecture === ec2.InstanceArchitecture.ARM_64 ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64;
}
