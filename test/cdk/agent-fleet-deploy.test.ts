import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { beforeAll, describe, expect, it } from 'vitest';
import { MayflyAgentFleet, type MayflyAgentFleetProps } from '../../cdk/lib/agent-fleet.ts';
import { AGENT_PATHS, agentInstallCommands } from '../../cdk/lib/agent-user-data.ts';
import { MayflyControlPlane } from '../../cdk/lib/control-plane.ts';
import { agentBundleSha256 } from '../../cdk/lib/local-bundle.ts';
import { allowStatements } from './iam-statements.ts';
import { FALLBACK_READS, flatten } from './template-text.ts';
import { testApp } from './test-app.ts';

/** A fleet in a fresh stack, synthesized. */
function fleetTemplate(props: Partial<MayflyAgentFleetProps> = {}, peerAuth = true): { template: Template; fleet: MayflyAgentFleet; stack: Stack } {
  const stack = new Stack(testApp(), 'FleetDeployTest');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }] });
  const controlPlane = new MayflyControlPlane(stack, 'ControlPlane', {
    origins: [{ bucket: s3.Bucket.fromBucketName(stack, 'Origin', 'artifacts'), prefixes: ['models/'] }],
    peerAuth,
  });
  const fleet = new MayflyAgentFleet(stack, 'Fleet', { vpc, scheduler: controlPlane, ...props });
  return { template: Template.fromStack(stack), fleet, stack };
}

function userDataOf(template: Template, groupPrefix = 'FleetGroup'): string {
  const [launchTemplate] = Object.entries(template.findResources('AWS::EC2::LaunchTemplate')).filter(([id]) => id.startsWith(`${groupPrefix}LaunchTemplate`));
  return flatten(launchTemplate[1].Properties.LaunchTemplateData.UserData);
}

describe('MayflyAgentFleet deployment', () => {
  let template: Template;
  let userData: string;

  beforeAll(() => {
    // GIVEN a fleet with default settings
    ({ template } = fleetTemplate());
    userData = userDataOf(template);
  });

  it('THEN the scheduler knows each instance role: agents and seeds of the fleet\'s cluster, nothing else', () => {
    const { template: withSeeds } = fleetTemplate({ seeds: 1, mayflyCluster: 'blue' });
    const [scheduler] = Object.entries(withSeeds.findResources('AWS::Lambda::Function')).filter(([id]) => id.startsWith('ControlPlaneScheduler'));
    const roles = flatten(scheduler[1].Properties.Environment.Variables.MAYFLY_AGENT_ROLES);
    const roleIds = Object.keys(withSeeds.findResources('AWS::IAM::Role')).filter((id) => /^Fleet(Seed)?InstanceRole/.test(id));
    expect(roleIds).toHaveLength(2);
    const seedRole = roleIds.find((id) => id.startsWith('FleetSeed'))!;
    const agentRole = roleIds.find((id) => !id.startsWith('FleetSeed'))!;
    expect(roles).toContain(`{"role":"\${{"Ref":"${agentRole}"}}","cluster":"blue","seed":false}`);
    expect(roles).toContain(`{"role":"\${{"Ref":"${seedRole}"}}","cluster":"blue","seed":true}`);
    expect(flatten(userDataOf(withSeeds))).toContain('MAYFLY_CLUSTER=blue');
  });

  it('THEN agents require peer credentials, unless the control plane issues none', () => {
    expect(userData).not.toContain('MAYFLY_PEER_AUTH');
    const withoutAuth = userDataOf(fleetTemplate({}, false).template);
    expect(withoutAuth).toContain('MAYFLY_PEER_AUTH=off');
  });

  it('THEN a new agent version or AMI replaces hosts one at a time, waiting for each one\'s signal', () => {
    const [[, group]] = Object.entries(template.findResources('AWS::AutoScaling::AutoScalingGroup'));
    expect(group.UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({ MaxBatchSize: 1, MinInstancesInService: 1, WaitOnResourceSignals: true, PauseTime: 'PT15M' });
    expect(group.CreationPolicy).toEqual({ ResourceSignal: { Count: 2, Timeout: 'PT15M' } });
  });

  it('THEN the host signals CloudFormation with the script\'s exit status, after checking the agent is active', () => {
    const groupId = Object.keys(template.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    expect(userData).toContain('set -euo pipefail\ndnf install -y aws-cfn-bootstrap\n');
    expect(userData).toContain('trap exitTrap EXIT');
    expect(userData).toMatch(new RegExp(`/opt/aws/bin/cfn-signal --stack .* --resource ${groupId} --region .* -e \\$exitCode`));
    // The last command decides the exit status the trap reports.
    expect(userData.trimEnd().split('\n').at(-1)).toBe('systemctl is-active --quiet mayfly-agent.service');
    expect(userData.indexOf('systemctl enable --now mayfly-agent.service')).toBeLessThan(userData.indexOf('systemctl is-active'));
  });

  it('THEN the downloaded bundle is installed only if its sha256 matches the built bundle', () => {
    const download = `${AGENT_PATHS.bundle}.download`;
    const check = `echo '${agentBundleSha256()}  ${download}' | sha256sum --check --strict --quiet -`;
    expect(userData).toContain(check);
    expect(userData.indexOf(check)).toBeLessThan(userData.indexOf(`mv -f ${download} ${AGENT_PATHS.bundle}`));
    expect(userData).toMatch(new RegExp(`aws s3 cp .* ${download.replace(/\./g, '\\.')}\\n`));
  });

  it('THEN Node 22 is required: no fallback to the distribution\'s end-of-life nodejs', () => {
    expect(userData).toContain('dnf install -y nodejs22\n');
    expect(userData).not.toMatch(/dnf install -y nodejs(\s|$)/);
    expect(userData).not.toContain('command -v node)');
    expect(userData).toContain('v22.*)');
  });

  it('THEN the rendered user data is valid bash', () => {
    const result = spawnSync('bash', ['-n'], { input: userData, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('THEN the instance role reads exactly the configured origins, for the fallback when the scheduler is down', () => {
    const reads = allowStatements(template).filter((statement) => statement.where.startsWith('FleetInstanceRole') && statement.actions.some((a) => FALLBACK_READS.includes(a)));
    const objects = reads.find((statement) => statement.actions.includes('s3:GetObjectVersion'))!;
    expect(objects.actions.sort()).toEqual(['s3:GetObject', 's3:GetObjectVersion']);
    expect(JSON.stringify(objects.resources)).toBe(JSON.stringify([{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::artifacts/models/*']] }]));
    const listing = reads.find((statement) => statement.actions.includes('s3:ListBucket'))!;
    expect(listing.conditions).toEqual({ StringLike: { 's3:prefix': ['models/*'] } });
  });

  it('GIVEN originFallback: false THEN the role has no origin read at all', () => {
    const { template: off } = fleetTemplate({ originFallback: false });
    const statements = allowStatements(off).filter((statement) => statement.where.startsWith('FleetInstanceRole'));
    expect(statements.flatMap((statement) => statement.actions)).not.toContain('s3:ListBucket');
    expect(statements.flatMap((statement) => statement.actions)).not.toContain('s3:GetObjectVersion');
    expect(JSON.stringify(statements.map((statement) => statement.resources))).not.toContain('artifacts');
  });

  it('THEN each host ships the agent journal to a log group kept a month, through the CloudWatch agent', () => {
    const [[logGroupId]] = Object.entries(template.findResources('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 } })).filter(([id]) => id.startsWith('FleetAgentLogs'));
    expect(userData).toContain('dnf install -y amazon-cloudwatch-agent');
    expect(userData).toContain('journalctl --unit=mayfly-agent.service --follow');
    expect(userData).toContain(`"log_group_name":"\${{"Ref":"${logGroupId}"}}"`);
    expect(userData).toContain('amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s');
    expect(userData).toContain('systemctl enable --now mayfly-journal.service');
  });

  it('THEN no Session Manager policy by default; GIVEN sessionManager THEN AmazonSSMManagedInstanceCore', () => {
    const roleOf = (t: Template) => Object.entries(t.findResources('AWS::IAM::Role')).find(([id]) => id.startsWith('FleetInstanceRole'))![1];
    expect(roleOf(template).Properties.ManagedPolicyArns).toBeUndefined();
    const { template: ssm } = fleetTemplate({ sessionManager: true });
    expect(JSON.stringify(roleOf(ssm).Properties.ManagedPolicyArns)).toContain(':iam::aws:policy/AmazonSSMManagedInstanceCore');
  });

  it('GIVEN seeds THEN a seed group in the same peer security group runs agents with MAYFLY_SEED=true', () => {
    const { template: seeded, fleet, stack: seededStack } = fleetTemplate({ seeds: 2 });
    const groups = seeded.findResources('AWS::AutoScaling::AutoScalingGroup');
    expect(Object.keys(groups)).toHaveLength(2);
    const [, seedGroup] = Object.entries(groups).find(([id]) => id.startsWith('FleetSeedGroup'))!;
    expect(seedGroup.Properties).toMatchObject({ MinSize: '2', MaxSize: '2' });
    expect(seedGroup.CreationPolicy).toEqual({ ResourceSignal: { Count: 2, Timeout: 'PT15M' } });
    expect(userDataOf(seeded, 'FleetSeedGroup')).toContain("'MAYFLY_SEED=true'");
    expect(userDataOf(seeded, 'FleetGroup')).not.toContain('MAYFLY_SEED');
    const sgId = seededStack.resolve(fleet.securityGroup.securityGroupId)['Fn::GetAtt'][0];
    for (const [, launchTemplate] of Object.entries(seeded.findResources('AWS::EC2::LaunchTemplate'))) {
      expect(JSON.stringify(launchTemplate.Properties.LaunchTemplateData)).toContain(sgId);
    }
  });

  it('GIVEN a pinned AMI THEN every launch template uses it', () => {
    const { template: pinned } = fleetTemplate({ machineImage: ec2.MachineImage.genericLinux({ 'us-east-1': 'ami-0123456789abcdef0' }) });
    pinned.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ ImageId: Match.anyValue() }) });
    expect(JSON.stringify(pinned.toJSON().Mappings)).toContain('ami-0123456789abcdef0');
  });

  it('refuses a custom bundle without its sha256', () => {
    const stack = new Stack(testApp(), 'NoSha');
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }] });
    const controlPlane = new MayflyControlPlane(stack, 'ControlPlane', { origins: [{ bucket: s3.Bucket.fromBucketName(stack, 'Origin', 'artifacts') }] });
    const agentBundle = new Asset(stack, 'Bundle', { path: join(import.meta.dirname, 'template-text.ts') });
    expect(() => new MayflyAgentFleet(stack, 'Fleet', { vpc, scheduler: controlPlane, agentBundle })).toThrow(/agentBundleSha256 is required/);
  });
});

describe('agent user data: instance metadata', () => {
  const commands = agentInstallCommands({
    schedulerUrl: 'https://scheduler.example',
    bundleS3Url: 's3://assets/agent.mjs',
    bundleSha256: 'a'.repeat(64),
    region: 'us-east-1',
    cacheDir: '/var/cache/mayfly',
  });

  /** Runs the metadata and environment-file part of the user data with `curl` stubbed. */
  function runMetadataPart(curlStub: string): { status: number | null; stderr: string; env: string } {
    const folder = mkdtempSync(join(tmpdir(), 'mayfly-userdata-'));
    const envFile = join(folder, 'agent.env');
    const from = commands.findIndex((line) => line.startsWith('IMDS_TOKEN='));
    const to = commands.findIndex((line) => line.includes('MAYFLY_SITE=$SITE'));
    const script = ['set -euo pipefail', `curl() { ${curlStub}; }`, ...commands.slice(from, to + 1)].join('\n').replaceAll(AGENT_PATHS.envFile, envFile);
    const result = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    let env = '';
    try {
      env = readFileSync(envFile, 'utf8');
    } catch {
      // not written
    }
    return { status: result.status, stderr: result.stderr, env };
  }

  it('GIVEN metadata answers THEN the environment file has the site, peer id and address, quoted values intact', () => {
    const { status, env } = runMetadataPart(
      'case "$*" in *api/token*) echo token ;; *availability-zone*) echo us-east-1a ;; *instance-id*) echo i-0abc ;; *local-ipv4*) echo 10.0.0.7 ;; esac',
    );
    expect(status).toBe(0);
    expect(env).toContain('MAYFLY_SCHEDULER_URL=https://scheduler.example\n');
    expect(env).toContain('MAYFLY_SITE=us-east-1a\nMAYFLY_PEER_ID=i-0abc\nMAYFLY_ADVERTISE_HOST=10.0.0.7\n');
  });

  it('GIVEN a metadata call fails THEN the script fails instead of writing an empty peer id', () => {
    const { status, env } = runMetadataPart('case "$*" in *api/token*) echo token ;; *instance-id*) return 22 ;; *) echo value ;; esac');
    expect(status).not.toBe(0);
    expect(env).not.toContain('MAYFLY_PEER_ID=');
  });

  it('GIVEN metadata answers empty THEN the script fails naming the value', () => {
    const { status, stderr } = runMetadataPart('case "$*" in *api/token*) echo token ;; *availability-zone*) echo ;; *) echo value ;; esac');
    expect(status).not.toBe(0);
    expect(stderr).toContain('instance metadata gave no availability-zone');
  });
});
