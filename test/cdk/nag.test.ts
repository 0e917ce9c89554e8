import { Validations, type App } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { MayflyStack } from '../../cdk/lib/mayfly-stack.ts';
import { readStackConfig } from '../../cdk/lib/stack-config.ts';
import { TEST_BASE_IMAGE } from './template-text.ts';
import { testApp } from './test-app.ts';

/**
 * cdk-nag's AwsSolutions pack over the app as `cdk deploy` builds it. Every finding must be
 * fixed or acknowledged beside the code that causes it (cdk/lib/nag-acknowledgments.ts), with
 * a written reason; a new unacknowledged finding fails here.
 */
const CONFIGURATIONS: Record<string, Record<string, string>> = {
  'no context (a created origin bucket, fleet, seeds, new VPC)': {},
  'imported origins with a KMS key, Session Manager, an ECS cluster with its security group': {
    origins: 'models-bucket/llm/,models-bucket/vision/,releases',
    originKeys: 'releases=arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    ssm: 'true',
    seeds: '3',
    ecsCluster: 'build-hosts',
    ecsBaseImage: TEST_BASE_IMAGE,
    ecsPlatform: 'linux/arm64',
    ecsHostSecurityGroup: 'sg-0123456789abcdef0',
  },
  'the control plane alone': { fleetSize: '0', seeds: '0' },
};

/** Each rule acknowledged somewhere (the reasons are beside the code: grep the rule id in cdk/lib). */
const ACKNOWLEDGED_RULES = [
  'AwsSolutions-AS3',
  'AwsSolutions-ECS2',
  'AwsSolutions-IAM4',
  'AwsSolutions-IAM5',
  'AwsSolutions-L1',
  'AwsSolutions-S1',
  'AwsSolutions-SMG4',
  'AwsSolutions-SQS3',
  'AwsSolutions-VPC7',
];

function mayflyApp(context: Record<string, string>): App {
  // Bundling is not what is checked here; the construct tests run it.
  const app = testApp({ ...context, 'aws:cdk:bundling-stacks': [] });
  new MayflyStack(app, 'Mayfly', { config: readStackConfig(app.node) });
  return app;
}

function acknowledgments(app: App): Array<{ path: string; id: string; reason: string }> {
  return app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
      .map(([id, reason]) => ({ path: construct.node.path, id: id.replace(/^annotation::/i, ''), reason }))
      // aws-cdk-lib acknowledges some of its own CloudFormation validation rules.
      .filter(({ id }) => id.startsWith('AwsSolutions-')),
  );
}

describe('cdk-nag AwsSolutions over the Mayfly app', () => {
  for (const [name, context] of Object.entries(CONFIGURATIONS)) {
    it(`GIVEN ${name} THEN every finding is fixed or acknowledged with a reason`, () => {
      const app = mayflyApp(context);
      const report = new AwsSolutionsChecks(app).validateScope(app);
      const findings = report.violations.flatMap((violation) =>
        violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}: ${violation.description}`),
      );
      expect(findings).toEqual([]);
      for (const { path, id, reason } of acknowledgments(app)) {
        expect(reason.length, `${id} at ${path}`).toBeGreaterThanOrEqual(40);
      }
    });
  }

  it('THEN only the known rules are acknowledged anywhere', () => {
    const rules = new Set(Object.values(CONFIGURATIONS).flatMap((context) => acknowledgments(mayflyApp(context)).map(({ id }) => id.replace(/\[.*$/, ''))));
    expect([...rules].sort()).toEqual(ACKNOWLEDGED_RULES);
  });

  it('GIVEN a new unacknowledged finding THEN the check reports it', () => {
    const app = mayflyApp({});
    const stack = app.node.findChild('Mayfly') as MayflyStack;
    // An unencrypted, unlogged queue added after the fact.
    new sqs.Queue(stack, 'Stray', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual(expect.arrayContaining(['AwsSolutions-SQS3']));
  });
});
