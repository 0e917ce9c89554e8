import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { agentImageContext } from '../../cdk/lib/agent-image.ts';
import { MayflyControlPlane } from '../../cdk/lib/control-plane.ts';
import { MayflyEcsDaemon, type MayflyEcsDaemonProps } from '../../cdk/lib/ecs-daemon.ts';
import { allowStatements } from './iam-statements.ts';
import { FALLBACK_READS, TEST_BASE_IMAGE } from './template-text.ts';
import { testApp } from './test-app.ts';

function daemonStack(props: Partial<MayflyEcsDaemonProps> = {}) {
  const app = testApp();
  const stack = new Stack(app, 'EcsDaemonTest');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }] });
  const controlPlane = new MayflyControlPlane(stack, 'ControlPlane', { origins: [{ bucket: s3.Bucket.fromBucketName(stack, 'Origin', 'artifacts') }] });
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc });
  new MayflyEcsDaemon(stack, 'Daemon', { cluster, scheduler: controlPlane, baseImage: TEST_BASE_IMAGE, ...props });
  return { app, stack };
}

describe('MayflyEcsDaemon', () => {
  let template: Template;
  let container: Record<string, any>;

  beforeAll(() => {
    // GIVEN an ECS daemon with default settings
    template = Template.fromStack(daemonStack().stack);
    const [taskDefinition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    container = taskDefinition.Properties.ContainerDefinitions[0];
  });

  it('THEN the agent runs unprivileged: uid 1000, every capability dropped, read-only root filesystem, /tmp on tmpfs', () => {
    expect(container).toMatchObject({
      User: '1000:1000',
      Privileged: false,
      ReadonlyRootFilesystem: true,
      LinuxParameters: {
        Capabilities: { Drop: ['ALL'] },
        InitProcessEnabled: true,
        Tmpfs: [{ ContainerPath: '/tmp', Size: 64, MountOptions: ['nosuid', 'nodev'] }],
      },
    });
    expect(container.LinuxParameters.Capabilities.Add).toBeUndefined();
  });

  it('THEN the cache is a shared Docker volume the image prepares for that user, read-write only there', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Volumes: [{ Name: 'mayfly-cache', DockerVolumeConfiguration: { Scope: 'shared', Autoprovision: true, Driver: 'local' } }],
    });
    expect(container.MountPoints).toEqual([{ SourceVolume: 'mayfly-cache', ContainerPath: '/var/cache/mayfly', ReadOnly: false }]);
  });

  it('THEN AWS_REGION is the stack region and site, peer id and address are left to the host metadata', () => {
    const environment = Object.fromEntries(container.Environment.map((entry: { Name: string; Value: unknown }) => [entry.Name, entry.Value]));
    expect(environment.AWS_REGION).toEqual({ Ref: 'AWS::Region' });
    expect(environment.MAYFLY_SITE).toBeUndefined();
    expect(environment.MAYFLY_PEER_ID).toBeUndefined();
    expect(environment.MAYFLY_ADVERTISE_HOST).toBeUndefined();
    expect(environment.MAYFLY_SEED).toBeUndefined();
  });

  it('THEN the scheduler maps the task role to its ECS cluster and looks each task up in EC2 and ECS records', () => {
    const [[, scheduler]] = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([id]) => id.startsWith('ControlPlaneScheduler'));
    const variables = scheduler.Properties.Environment.Variables;
    expect(variables.MAYFLY_HOST_RECORDS).toBe('cloud');
    const roles = JSON.stringify(variables.MAYFLY_AGENT_ROLES);
    const [clusterId] = Object.keys(template.findResources('AWS::ECS::Cluster'));
    expect(roles).toContain('ecsCluster');
    expect(roles).toContain(clusterId);
    const lookups = allowStatements(template).filter((s) => s.where.startsWith('ControlPlaneScheduler')).flatMap((s) => s.actions);
    expect(lookups).toEqual(expect.arrayContaining(['ec2:DescribeInstances', 'ecs:DescribeTasks', 'ecs:DescribeContainerInstances']));
  });

  it('THEN the task role may read the origins for the fallback; GIVEN originFallback: false THEN not', () => {
    const actionsOf = (t: Template) => allowStatements(t).filter((s) => s.where.startsWith('DaemonTaskTaskRole')).flatMap((s) => s.actions).sort();
    expect(actionsOf(template)).toEqual(['lambda:InvokeFunction', 'lambda:InvokeFunctionUrl', ...FALLBACK_READS]);
    expect(actionsOf(Template.fromStack(daemonStack({ originFallback: false }).stack))).toEqual(['lambda:InvokeFunction', 'lambda:InvokeFunctionUrl']);
  });

  it('GIVEN seed and a site THEN the tasks are seeds of that site; GIVEN a host path THEN it is bind-mounted', () => {
    const seeded = Template.fromStack(daemonStack({ seed: true, site: 'rack-1', cacheHostPath: '/data/mayfly' }).stack);
    seeded.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Volumes: [{ Name: 'mayfly-cache', Host: { SourcePath: '/data/mayfly' } }],
      ContainerDefinitions: [
        Match.objectLike({ Environment: Match.arrayWith([{ Name: 'MAYFLY_SITE', Value: 'rack-1' }, { Name: 'MAYFLY_SEED', Value: 'true' }]) }),
      ],
    });
  });

  it('THEN the image is built for the given platform on the digest-pinned base, running the metadata entrypoint', () => {
    const { app } = daemonStack({ platform: Platform.LINUX_ARM64 });
    const assembly = app.synth();
    const manifest = JSON.parse(readFileSync(join(assembly.directory, 'EcsDaemonTest.assets.json'), 'utf8'));
    const images = Object.values(manifest.dockerImages) as Array<{ source: { directory: string; platform?: string } }>;
    expect(images).toHaveLength(1);
    expect(images[0].source.platform).toBe('linux/arm64');
    const dockerfile = readFileSync(join(assembly.directory, images[0].source.directory, 'Dockerfile'), 'utf8');
    expect(dockerfile.split('\n')[0]).toBe(`FROM ${TEST_BASE_IMAGE}`);
    expect(dockerfile).toContain('USER 1000:1000');
    expect(dockerfile).toContain('RUN install -d -o node -g node -m 0750 /var/cache/mayfly');
    expect(dockerfile).toContain('"/opt/mayfly/entrypoint.mjs"');
  });

  it('refuses to build the image on a base that is not pinned by digest, or on none', () => {
    expect(() => agentImageContext('public.ecr.aws/docker/library/node:22-slim')).toThrow(/pinned by digest/);
    expect(() => daemonStack({ baseImage: undefined })).toThrow(/baseImage is required/);
  });
});
