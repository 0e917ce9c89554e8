import { Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MayflyStack } from '../../cdk/lib/mayfly-stack.ts';
import { CONFIG_DEFAULTS, readStackConfig } from '../../cdk/lib/stack-config.ts';
import { allowStatements, wildcardActionGrants, wildcardDataGrants } from './iam-statements.ts';
import { testApp } from './test-app.ts';

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

  it('THEN no IAM statement grants `*` actions, or data actions on `*` resources', () => {
    const statements = allowStatements(template);
    expect(statements.length).toBeGreaterThan(5);
    expect(wildcardActionGrants(statements)).toEqual([]);
    expect(wildcardDataGrants(statements)).toEqual([]);
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
  });

  it('GIVEN s3:// URLs and bucket-only entries THEN they parse', () => {
    expect(readStackConfig(testApp({ origins: 's3://a-bucket/p/, b-bucket' }).node).origins).toEqual([
      { bucketName: 'a-bucket', prefix: 'p/' },
      { bucketName: 'b-bucket' },
    ]);
  });
});
