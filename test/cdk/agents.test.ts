import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { MayflyAgentFleet } from '../../cdk/lib/agent-fleet.ts';
import { AGENT_SYSTEMD_UNIT } from '../../cdk/lib/agent-user-data.ts';
import { MayflyControlPlane } from '../../cdk/lib/control-plane.ts';
import { MayflyEcsDaemon } from '../../cdk/lib/ecs-daemon.ts';
import { DEFAULT_PEER_PORT } from '../../core/constants.ts';
import { allowStatements, wildcardActionGrants, wildcardDataGrants } from './iam-statements.ts';
import { FALLBACK_READS, flatten, HOST_ACTIONS, TEST_BASE_IMAGE } from './template-text.ts';
import { testApp } from './test-app.ts';



describe('MayflyAgentFleet and MayflyEcsDaemon', () => {
  let template: Template;
  let fleetGroupId: string;
  let hostGroupId: string;

  beforeAll(() => {
    // GIVEN a VPC, a control plane, a fleet with default settings, and an ECS cluster
    const stack = new Stack(testApp(), 'AgentsTest');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }] });
    const controlPlane = new MayflyControlPlane(stack, 'ControlPlane', { origins: [{ bucket: s3.Bucket.fromBucketName(stack, 'Origin', 'artifacts') }] });
    const fleet = new MayflyAgentFleet(stack, 'Fleet', { vpc, scheduler: controlPlane });
    const hostGroup = new ec2.SecurityGroup(stack, 'EcsHosts', { vpc });
    const cluster = new ecs.Cluster(stack, 'Cluster', { vpc });
    new MayflyEcsDaemon(stack, 'Daemon', { cluster, scheduler: controlPlane, hostSecurityGroup: hostGroup, baseImage: TEST_BASE_IMAGE });
    // WHEN synthesized
    template = Template.fromStack(stack);
    fleetGroupId = stack.resolve(fleet.securityGroup.securityGroupId)['Fn::GetAtt'][0];
    hostGroupId = stack.resolve(hostGroup.securityGroupId)['Fn::GetAtt'][0];
  });

  it('THEN a launch template (not a launch configuration) backs a group of two Graviton instances with IMDSv2', () => {
    template.resourceCountIs('AWS::AutoScaling::LaunchConfiguration', 0);
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      // Hop limit 1: the metadata service answers the host, not a bridged container.
      LaunchTemplateData: Match.objectLike({ InstanceType: 't4g.medium', MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 } }),
    });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '2', MaxSize: '2', LaunchTemplate: Match.anyValue() });
  });

  it('THEN the peer port is open only to the fleet security group itself', () => {
    const peerRules = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { FromPort: DEFAULT_PEER_PORT } }));
    const inlineRules = Object.values(template.findResources('AWS::EC2::SecurityGroup')).flatMap((group) => group.Properties.SecurityGroupIngress ?? []);
    expect(inlineRules).toEqual([]);
    const fleetRules = peerRules.filter((rule) => rule.Properties.GroupId['Fn::GetAtt'][0] === fleetGroupId);
    expect(fleetRules).toHaveLength(1);
    expect(fleetRules[0].Properties).toMatchObject({
      IpProtocol: 'tcp',
      ToPort: DEFAULT_PEER_PORT,
      SourceSecurityGroupId: { 'Fn::GetAtt': [fleetGroupId, 'GroupId'] },
    });
    expect(fleetRules[0].Properties.CidrIp).toBeUndefined();
    // Nothing else is admitted anywhere: every ingress rule comes from a security group.
    for (const rule of Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))) {
      expect(rule.Properties.CidrIp ?? rule.Properties.CidrIpv6).toBeUndefined();
    }
  });

  it('THEN user data installs the bundle and the systemd unit, restarting on failure, signing with SigV4', () => {
    const launchTemplate = Object.values(template.findResources('AWS::EC2::LaunchTemplate'))[0];
    const userData = flatten(launchTemplate.Properties.LaunchTemplateData.UserData);
    expect(userData).toContain(AGENT_SYSTEMD_UNIT.trimEnd());
    expect(userData).toContain('Restart=on-failure');
    expect(userData).toContain('ExecStart=/opt/mayfly/bin/node --max-semi-space-size=8 /opt/mayfly/mayfly.mjs agent');
    expect(userData).toContain('MAYFLY_AUTH=sigv4');
    expect(userData).toMatch(/MAYFLY_SCHEDULER_URL=\$\{.*ControlPlaneSchedulerFunctionUrl/);
    expect(userData).toMatch(/aws s3 cp .*'.*s3:\/\/cdk-.*\/[0-9a-f]{64}\.mjs.*' \/opt\/mayfly\/mayfly\.mjs/);
    expect(userData).toContain('systemctl enable --now mayfly-agent.service');
  });

  it('THEN the instance role may invoke the scheduler URL, read the bundle object and the origins, and write its logs, nothing more', () => {
    const statements = allowStatements(template).filter((statement) => statement.where.startsWith('FleetInstanceRole'));
    // SignalResource: CDK adds it with the group's resource signals.
    expect(statements.flatMap((statement) => statement.actions).sort()).toEqual(['cloudformation:SignalResource', ...HOST_ACTIONS]);
    for (const statement of statements.filter((s) => s.actions[0].startsWith('lambda:'))) {
      expect(statement.resources).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^ControlPlaneScheduler/), 'Arn'] }]);
    }
    const read = statements.find((statement) => statement.actions.length === 1 && statement.actions[0] === 's3:GetObject')!;
    expect(JSON.stringify(read.resources)).toMatch(/\/[0-9a-f]{64}\.mjs"\]\]\}\]$/);
  });

  it('THEN the ECS daemon runs one agent per host on host networking with the same permission', () => {
    template.hasResourceProperties('AWS::ECS::Service', { SchedulingStrategy: 'DAEMON', LaunchType: 'EC2' });
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      NetworkMode: 'host',
      ContainerDefinitions: [
        Match.objectLike({
          PortMappings: [{ ContainerPort: DEFAULT_PEER_PORT, HostPort: DEFAULT_PEER_PORT, Protocol: 'tcp' }],
          Environment: Match.arrayWith([{ Name: 'MAYFLY_AUTH', Value: 'sigv4' }]),
          MountPoints: [{ SourceVolume: 'mayfly-cache', ContainerPath: '/var/cache/mayfly', ReadOnly: false }],
        }),
      ],
    });
    const taskRole = allowStatements(template).filter((statement) => statement.where.startsWith('DaemonTaskTaskRole'));
    expect(taskRole.flatMap((statement) => statement.actions).sort()).toEqual(['lambda:InvokeFunction', 'lambda:InvokeFunctionUrl', ...FALLBACK_READS]);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [hostGroupId, 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [hostGroupId, 'GroupId'] },
      FromPort: DEFAULT_PEER_PORT,
    });
  });

  it('GIVEN an existing autoscaling group WHEN the fleet adopts it THEN it gets the unit, the peer group and the grants', () => {
    const stack = new Stack(testApp(), 'ExistingGroupTest');
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }] });
    const controlPlane = new MayflyControlPlane(stack, 'ControlPlane', { origins: [{ bucket: s3.Bucket.fromBucketName(stack, 'Origin', 'artifacts') }] });
    const group = new autoscaling.AutoScalingGroup(stack, 'Existing', {
      vpc,
      instanceType: new ec2.InstanceType('m7g.large'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
    });
    const fleet = new MayflyAgentFleet(stack, 'Fleet', { vpc, scheduler: controlPlane, autoScalingGroup: group });
    const existing = Template.fromStack(stack);
    existing.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 1);
    const [launchTemplate] = Object.values(existing.findResources('AWS::EC2::LaunchTemplate'));
    expect(flatten(launchTemplate.Properties.LaunchTemplateData.UserData)).toContain(AGENT_SYSTEMD_UNIT.trimEnd());
    const groups = JSON.stringify(launchTemplate.Properties.LaunchTemplateData.SecurityGroupIds);
    expect(groups).toContain(stack.resolve(fleet.securityGroup.securityGroupId)['Fn::GetAtt'][0]);
    const actions = allowStatements(existing).filter((statement) => statement.where.startsWith('ExistingInstanceRole')).flatMap((statement) => statement.actions);
    expect(actions.sort()).toEqual(HOST_ACTIONS);
  });

  it('THEN no IAM statement grants `*` actions, or data actions on `*` resources', () => {
    const statements = allowStatements(template);
    expect(wildcardActionGrants(statements)).toEqual([]);
    expect(wildcardDataGrants(statements)).toEqual([]);
  });
});
