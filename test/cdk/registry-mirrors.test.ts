import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MayflyStack } from '../../cdk/lib/mayfly-stack.ts';
import { readStackConfig } from '../../cdk/lib/stack-config.ts';
import { allowStatements } from './iam-statements.ts';
import { TEST_BASE_IMAGE } from './template-text.ts';
import { testApp } from './test-app.ts';

const ECR_HOST = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

const stackWith = (context: Record<string, unknown>) => {
  const app = testApp({ fleetSize: '1', seeds: '1', ecsCluster: 'apps', ecsBaseImage: TEST_BASE_IMAGE, 'aws:cdk:bundling-stacks': [], ...context });
  return Template.fromStack(new MayflyStack(app, 'Mayfly', { config: readStackConfig(app.node) }));
};
const userData = (template: Template) => JSON.stringify(template.findResources('AWS::EC2::LaunchTemplate'));

describe('registry mirrors and image preheat in the stack', () => {
  let template: Template;

  beforeAll(() => {
    // GIVEN -c registryMirrors=<an ECR registry>
    template = stackWith({ registryMirrors: ECR_HOST });
  });

  it('THEN every EC2 host runs `mayfly setup containerd` for the registries', () => {
    expect(userData(template)).toContain(`/opt/mayfly/bin/node /opt/mayfly/mayfly.mjs setup containerd --registry ${ECR_HOST}`);
  });

  it('THEN the ECS daemon runs a setup container on the host configuration before the agent starts', () => {
    const [taskDefinition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    const containers = taskDefinition.Properties.ContainerDefinitions as Array<Record<string, any>>;
    const setup = containers.find((container) => container.Name === 'RuntimeSetup')!;
    expect(setup).toMatchObject({
      Essential: false,
      User: '0:0',
      ReadonlyRootFilesystem: true,
      EntryPoint: ['node', '/opt/mayfly/mayfly.mjs', 'setup', 'containerd', '--registry', ECR_HOST, '--config-dir', '/etc/containerd/certs.d'],
      MountPoints: [{ SourceVolume: 'runtime-mirror-config', ContainerPath: '/etc/containerd/certs.d', ReadOnly: false }],
    });
    const agent = containers.find((container) => container.Name === 'Agent')!;
    expect(agent.DependsOn).toEqual([{ ContainerName: 'RuntimeSetup', Condition: 'SUCCESS' }]);
    expect(taskDefinition.Properties.Volumes).toEqual(expect.arrayContaining([{ Name: 'runtime-mirror-config', Host: { SourcePath: '/etc/containerd/certs.d' } }]));
  });

  it('THEN seeds, the manager and the preheat function may get ECR tokens and pull from that registry; normal agents may not', () => {
    const statements = allowStatements(template);
    const tokenGrants = statements.filter((statement) => statement.actions.includes('ecr:GetAuthorizationToken') && statement.resources.includes('*'));
    const where = tokenGrants.map((statement) => statement.where).join(' ');
    expect(where).toMatch(/SeedInstanceRole/);
    expect(where).toMatch(/ManagerRole/);
    expect(where).toMatch(/PreheatRole/);
    expect(where).not.toMatch(/Agents(?!.*Seed)InstanceRole/);
    // (The ECS task's execution role pulls the agent image from the CDK assets repository: not these.)
    const pulls = statements.filter((statement) => statement.actions.includes('ecr:BatchGetImage') && !statement.where.includes('ExecutionRole'));
    expect(pulls.length).toBeGreaterThanOrEqual(3);
    for (const statement of pulls) {
      expect(statement.actions).toEqual(['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']);
      expect(JSON.stringify(statement.resources)).toContain(':ecr:eu-west-1:123456789012:repository/*');
    }
  });

  it('THEN an EventBridge rule sends successful ECR pushes to the preheat function', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.ecr'], 'detail-type': ['ECR Image Action'], detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] } },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ControlPlanePreheat'), 'Arn'] } })],
    });
  });

  it('THEN without registryMirrors no host runs setup and no role gets ECR grants', () => {
    const plain = stackWith({});
    expect(userData(plain)).not.toContain('mayfly.mjs setup');
    const grants = allowStatements(plain).filter((statement) => statement.actions.includes('ecr:BatchGetImage') && !statement.where.includes('ExecutionRole'));
    expect(grants).toEqual([]);
    expect(JSON.stringify(plain.findResources('AWS::ECS::TaskDefinition'))).not.toContain('RuntimeSetup');
  });

  it('THEN a malformed registryMirrors or containerRuntime is refused at synth with a reason', () => {
    expect(() => stackWith({ registryMirrors: 'https://x.example' })).toThrow(/registryMirrors entry "https:\/\/x.example" is not a registry host/);
    expect(() => stackWith({ registryMirrors: ECR_HOST, containerRuntime: 'docker' })).toThrow(/containerRuntime must be containerd, crio or podman/);
  });
});
