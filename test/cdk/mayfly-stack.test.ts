import { Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MayflyStack } from '../../cdk/lib/mayfly-stack.ts';
import { CONFIG_DEFAULTS, readStackConfig } from '../../cdk/lib/stack-config.ts';
import { allowStatements, wildcardActionGrants, wildcardDataGrants } from './iam-statements.ts';
import { TEST_BASE_IMAGE } from './template-text.ts';
import { testApp } from './test-app.ts';

const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const METRICS = ['Announces', 'AnnounceLatencyMs', 'Errors', 'BackToSourceGrants', 'BytesFromOrigin', 'BytesFromPeers'];

describe('MayflyStack (what `cdk deploy` stands up)', () => {
  let stack: MayflyStack;
  let template: Template;

  beforeAll(() => {
    // GIVEN the context a user passes with -c; bundling is proven by the construct tests
    const app = testApp({
      origins: 'models-bucket/llm/,models-bucket/vision/,releases',
      fleetSize: '3',
      instanceType: 'c7g.large',
      'aws:cdk:bundling-stacks': [],
    });
    // WHEN the app's stack is built from it, with no account or region
    stack = new MayflyStack(app, 'Mayfly', { config: readStackConfig(app.node) });
    template = Template.fromStack(stack);
  });

  it('THEN it is environment-agnostic: synth needs no account and no lookup', () => {
    expect(Token.isUnresolved(stack.account)).toBe(true);
    expect(Token.isUnresolved(stack.region)).toBe(true);
  });

  it('THEN the control plane, a new VPC, the fleet and the dashboard exist', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::Lambda::Url', 2);
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '3', MaxSize: '3' });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ InstanceType: 'c7g.large' }) });
    template.hasOutput('SchedulerUrl', Match.anyValue());
    // Imported buckets: nothing is created for them.
    template.resourceCountIs('AWS::S3::Bucket', 0);
  });

  it('THEN ObjectCreated events under each configured prefix invoke the manager preheat handler', () => {
    // One notification resource per bucket.
    const configs = Object.values(template.findResources('Custom::S3BucketNotifications')).flatMap(
      (notifications) => notifications.Properties.NotificationConfiguration.LambdaFunctionConfigurations,
    );
    expect(configs).toHaveLength(3);
    for (const config of configs) {
      expect(config.Events).toEqual(['s3:ObjectCreated:*']);
      expect(config.LambdaFunctionArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ControlPlanePreheat/), 'Arn'] });
    }
    const prefixes = configs.map((config: { Filter?: { Key: { FilterRules: Array<{ Value: string }> } } }) => config.Filter?.Key.FilterRules[0].Value);
    // The bucket-only origin (releases) has no filter: every new object is preheated.
    expect(prefixes.sort()).toEqual(['llm/', 'vision/', undefined]);
    template.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunction', Principal: 's3.amazonaws.com' });
  });

  it('THEN the dashboard graphs every Mayfly metric', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of METRICS) expect(body).toContain(`{Mayfly} MetricName=\\\\\\"${metric}\\\\\\"`);
  });

  it('THEN seeds are deployed, one per site (availability zone), so S3-upload preheats have somewhere to go', () => {
    const groups = Object.entries(template.findResources('AWS::AutoScaling::AutoScalingGroup'));
    const [, seeds] = groups.find(([id]) => id.startsWith('AgentsSeedGroup'))!;
    expect(seeds.Properties).toMatchObject({ MinSize: '2', MaxSize: '2' });
    expect(seeds.Properties.VPCZoneIdentifier).toHaveLength(2);
  });

  it('THEN the scheduler\'s errors and throttles, and preheat dead letters, raise alarms shown on the dashboard', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties);
    const onScheduler = alarms.filter((alarm) => JSON.stringify(alarm.Dimensions ?? []).includes('ControlPlaneScheduler'));
    expect(onScheduler.map((alarm) => `${alarm.Namespace}/${alarm.MetricName} >= ${alarm.Threshold}`).sort()).toEqual([
      'AWS/Lambda/Errors >= 5',
      'AWS/Lambda/Throttles >= 1',
    ]);
    for (const alarm of onScheduler) expect(alarm).toMatchObject({ Period: 300, EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    const deadLetters = alarms.find((alarm) => alarm.MetricName === 'ApproximateNumberOfMessagesVisible')!;
    expect(deadLetters.Dimensions).toEqual([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [expect.stringMatching(/^ControlPlanePreheatDeadLetters/), 'QueueName'] } }]);
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(JSON.stringify(dashboard.Properties.DashboardBody)).toContain('\\"type\\":\\"alarm\\"');
    template.hasOutput('PreheatDeadLetterQueueUrl', Match.anyValue());
    template.hasOutput('AgentLogGroup', Match.anyValue());
  });

  it('THEN no IAM statement grants `*` actions, or data actions on `*` resources', () => {
    const statements = allowStatements(template);
    expect(statements.length).toBeGreaterThan(5);
    expect(wildcardActionGrants(statements)).toEqual([]);
    expect(wildcardDataGrants(statements)).toEqual([]);
  });
});

describe('MayflyStack with an ECS cluster, KMS origin keys and a pinned AMI', () => {
  let template: Template;

  beforeAll(() => {
    // GIVEN the context of an ECS deployment beside no fleet
    const app = testApp({
      origins: 'secure-bucket/models/',
      originKeys: `secure-bucket=${KEY_ARN}`,
      fleetSize: '0',
      seeds: '1',
      amiId: 'ami-0123456789abcdef0',
      ecsCluster: 'build-hosts',
      ecsBaseImage: TEST_BASE_IMAGE,
      ecsPlatform: 'linux/arm64',
      ecsHostSecurityGroup: 'sg-0123456789abcdef0',
      'aws:cdk:bundling-stacks': [],
    });
    template = Template.fromStack(new MayflyStack(app, 'Mayfly', { config: readStackConfig(app.node) }));
  });

  it('THEN the peer port is opened between the cluster hosts on the given security group', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: 'sg-0123456789abcdef0',
      SourceSecurityGroupId: 'sg-0123456789abcdef0',
      FromPort: 7402,
      ToPort: 7402,
      IpProtocol: 'tcp',
    });
  });

  it('THEN EC2 seeds and ECS agents reach each other\'s peer port (they share sites)', () => {
    const seedGroupId = Object.keys(template.findResources('AWS::EC2::SecurityGroup')).find((id) => id.startsWith('AgentsPeerSecurityGroup'))!;
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [seedGroupId, 'GroupId'] },
      SourceSecurityGroupId: 'sg-0123456789abcdef0',
      FromPort: 7402,
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: 'sg-0123456789abcdef0',
      SourceSecurityGroupId: { 'Fn::GetAtt': [seedGroupId, 'GroupId'] },
      FromPort: 7402,
    });
  });

  it('THEN every reader of the keyed origin (functions, seed hosts, ECS tasks) may decrypt only through S3', () => {
    const decrypts = allowStatements(template).filter((statement) => statement.actions.includes('kms:Decrypt'));
    expect(decrypts.map((statement) => statement.where.replace(/(Role|TaskTaskRole|InstanceRole).*/, '')).sort()).toEqual([
      'Agents',
      'AgentsSeed',
      'ControlPlaneDigest',
      'ControlPlaneManager',
      'ControlPlanePreheat',
      'ControlPlaneScheduler',
      'EcsAgents',
    ]);
    for (const statement of decrypts) {
      expect(statement.resources).toEqual([KEY_ARN]);
      expect(JSON.stringify(statement.conditions)).toContain('kms:ViaService');
    }
  });

  it('THEN the seed group runs on the pinned AMI with no normal agents', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ ImageId: 'ami-0123456789abcdef0' }) });
    const sizes = Object.values(template.findResources('AWS::AutoScaling::AutoScalingGroup')).map((group) => group.Properties.MaxSize).sort();
    expect(sizes).toEqual(['0', '1']);
  });

  it('GIVEN ecsCluster without ecsBaseImage THEN synth stops and says what is missing', () => {
    const app = testApp({ ecsCluster: 'build-hosts', 'aws:cdk:bundling-stacks': [] });
    expect(() => new MayflyStack(app, 'Mayfly', { config: readStackConfig(app.node) })).toThrow(/ecsCluster needs ecsBaseImage/);
  });
});

describe('stack context', () => {
  it('GIVEN no context THEN defaults: an origin bucket is created, two t4g.medium agents, a new VPC', () => {
    expect(readStackConfig(testApp().node)).toEqual({
      origins: [],
      vpcId: undefined,
      instanceType: CONFIG_DEFAULTS.instanceType,
      amiId: undefined,
      fleetSize: CONFIG_DEFAULTS.fleetSize,
      seeds: undefined,
      originFallback: true,
      sessionManager: false,
      ecsClusterName: undefined,
      ecsBaseImage: undefined,
      ecsPlatform: 'linux/amd64',
      ecsHostSecurityGroupId: undefined,
    });
  });

  it('GIVEN bad values THEN synth stops with a message naming the key', () => {
    expect(() => readStackConfig(testApp({ origins: 'Bad_Bucket/x' }).node)).toThrow(/origins: "Bad_Bucket"/);
    expect(() => readStackConfig(testApp({ vpcId: 'subnet-123' }).node)).toThrow(/vpcId/);
    expect(() => readStackConfig(testApp({ fleetSize: 'many' }).node)).toThrow(/fleetSize/);
    expect(() => readStackConfig(testApp({ instanceType: 'big' }).node)).toThrow(/instanceType/);
    expect(() => readStackConfig(testApp({ seeds: '-1' }).node)).toThrow(/seeds/);
    expect(() => readStackConfig(testApp({ ssm: 'yes' }).node)).toThrow(/ssm must be true or false/);
    expect(() => readStackConfig(testApp({ amiId: 'ubuntu' }).node)).toThrow(/amiId/);
    expect(() => readStackConfig(testApp({ ecsPlatform: 'arm' }).node)).toThrow(/ecsPlatform/);
    expect(() => readStackConfig(testApp({ ecsBaseImage: 'node:22-slim' }).node)).toThrow(/ecsBaseImage .* pinned by digest/);
    expect(() => readStackConfig(testApp({ ecsHostSecurityGroup: 'default' }).node)).toThrow(/ecsHostSecurityGroup/);
    expect(() => readStackConfig(testApp({ origins: 'a-bucket', originKeys: 'a-bucket=alias/mine' }).node)).toThrow(/originKeys/);
    expect(() => readStackConfig(testApp({ origins: 'a-bucket', originKeys: `b-bucket=${KEY_ARN}` }).node)).toThrow(/originKeys: "b-bucket" is not one of the origins/);
  });

  it('GIVEN s3:// URLs and bucket-only entries THEN they parse', () => {
    expect(readStackConfig(testApp({ origins: 's3://a-bucket/p/, b-bucket' }).node).origins).toEqual([
      { bucketName: 'a-bucket', prefix: 'p/' },
      { bucketName: 'b-bucket' },
    ]);
    expect(readStackConfig(testApp({ origins: 'a-bucket/p/,a-bucket/q/', originKeys: `a-bucket=${KEY_ARN}` }).node).origins).toEqual([
      { bucketName: 'a-bucket', prefix: 'p/', keyArn: KEY_ARN },
      { bucketName: 'a-bucket', prefix: 'q/', keyArn: KEY_ARN },
    ]);
  });
});
