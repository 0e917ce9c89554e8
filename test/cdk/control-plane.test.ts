import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { MayflyControlPlane } from '../../cdk/lib/control-plane.ts';
import { TABLE_PARTITION_KEY, TABLE_SORT_KEY, TABLE_TTL_ATTRIBUTE } from '../../core/constants.ts';
import { testApp } from './test-app.ts';
import { allowStatements, wildcardActionGrants, wildcardDataGrants } from './iam-statements.ts';

const SECURE_KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const FUNCTIONS = ['ControlPlaneDigest', 'ControlPlaneManager', 'ControlPlanePreheat', 'ControlPlaneScheduler'];

describe('MayflyControlPlane', () => {
  let template: Template;
  let assemblyDir: string;
  let stackName: string;

  beforeAll(() => {
    // GIVEN one imported origin narrowed to two prefixes and one owned, whole-bucket origin
    const app = testApp();
    const stack = new Stack(app, 'ControlPlaneTest');
    const models = s3.Bucket.fromBucketName(stack, 'Models', 'models-bucket');
    const releases = new s3.Bucket(stack, 'Releases');
    // AND an imported SSE-KMS bucket whose customer-managed key is named
    const secure = s3.Bucket.fromBucketName(stack, 'Secure', 'secure-bucket');
    const secureKey = kms.Key.fromKeyArn(stack, 'SecureKey', SECURE_KEY_ARN);
    const controlPlane = new MayflyControlPlane(stack, 'ControlPlane', {
      origins: [{ bucket: models, prefixes: ['llm/', 'vision/'] }, { bucket: releases }, { bucket: secure, encryptionKey: secureKey }],
      backToSourceLimit: 2,
    });
    const operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
    controlPlane.grantManage(operator);
    // WHEN the app is synthesized (the Lambda code is really bundled)
    const assembly = app.synth();
    assemblyDir = assembly.directory;
    stackName = stack.stackName;
    template = Template.fromJSON(assembly.getStackByName(stackName).template);
  });

  it('THEN one on-demand table has core/ key names, the TTL attribute and point-in-time recovery', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: TABLE_PARTITION_KEY, KeyType: 'HASH' },
        { AttributeName: TABLE_SORT_KEY, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([{ AttributeName: TABLE_PARTITION_KEY, AttributeType: 'S' }]),
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: TABLE_TTL_ATTRIBUTE, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('THEN the Lambdas run the bundled ESM handlers on Node 22, arm64, with the table in their environment', () => {
    const functions = template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^Mayfly ') } });
    expect(Object.values(functions).map((fn) => `${fn.Properties.Description}: ${fn.Properties.Handler}`).sort()).toEqual([
      'Mayfly digest: index.handler',
      'Mayfly manager: index.handler',
      'Mayfly preheat: index.s3EventHandler',
      'Mayfly scheduler: index.handler',
    ]);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
      expect(fn.Properties.Environment.Variables.MAYFLY_TABLE).toEqual({ Ref: expect.stringMatching(/^ControlPlaneTable/) });
      // Source maps ship with the bundle but are not loaded at cold start unless asked for.
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBeUndefined();
      // The staged asset is the minified bundle plus its source map.
      const assetDir = join(assemblyDir, `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
      expect(existsSync(join(assetDir, 'index.mjs.map'))).toBe(true);
      expect(statSync(join(assetDir, 'index.mjs')).size).toBeLessThan(1024 * 1024);
    }
  });

  it('THEN the scheduler is told the allowed origins and limits', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Mayfly scheduler',
      Environment: {
        Variables: Match.objectLike({
          MAYFLY_ALLOWED_ORIGINS: { 'Fn::Join': ['', ['models-bucket/llm/,models-bucket/vision/,', { Ref: Match.stringLikeRegexp('^Releases') }, '/,secure-bucket/']] },
          MAYFLY_BACK_TO_SOURCE_LIMIT: '2',
          // The function reads the secret when it starts; its configuration holds only the ARN.
          MAYFLY_PEER_SECRET_ARN: { Ref: Match.stringLikeRegexp('PeerSecret') },
          MAYFLY_PEER_SECRET: Match.absent(),
        }),
      },
    });
  });

  it('THEN every Function URL uses AWS_IAM auth', () => {
    const urls = Object.values(template.findResources('AWS::Lambda::Url'));
    expect(urls).toHaveLength(2);
    for (const url of urls) expect(url.Properties.AuthType).toBe('AWS_IAM');
  });

  it('THEN logs are kept for a month, in log groups the functions use', () => {
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 4);
    template.allResourcesProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('Logs') } } });
  });

  it('THEN each function reads objects only under the configured prefixes, and lists only those', () => {
    const s3Reads = allowStatements(template).filter(
      (statement) => statement.actions.includes('s3:GetObject') && JSON.stringify(statement.resources).includes('models-bucket'),
    );
    expect(s3Reads.map((statement) => statement.where.replace(/Role.*/, '')).sort()).toEqual([
      'ControlPlaneDigest',
      'ControlPlaneManager',
      'ControlPlanePreheat',
      'ControlPlaneScheduler',
    ]);
    for (const statement of s3Reads) {
      expect(statement.actions.sort()).toEqual(['s3:GetObject', 's3:GetObjectVersion']);
      const resources = JSON.stringify(statement.resources);
      expect(resources).toContain(':s3:::models-bucket/llm/*');
      expect(resources).toContain(':s3:::models-bucket/vision/*');
      expect(resources).not.toContain('models-bucket/*');
    }
    const listings = allowStatements(template).filter(
      (statement) => statement.actions.includes('s3:ListBucket') && JSON.stringify(statement.resources).includes('models-bucket'),
    );
    for (const listing of listings) expect(listing.conditions).toEqual({ StringLike: { 's3:prefix': ['llm/*', 'vision/*'] } });
  });

  it('THEN only the scheduler reads the peer secret, and only that secret; no function holds its value', () => {
    const readers = allowStatements(template).filter((statement) => statement.actions.includes('secretsmanager:GetSecretValue'));
    expect(readers.map((statement) => statement.where.replace(/Role.*/, ''))).toEqual(['ControlPlaneScheduler']);
    expect(readers[0].resources).toEqual([{ Ref: expect.stringMatching(/PeerSecret/) }]);
    const variables = Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => JSON.stringify(fn.Properties.Environment));
    for (const environment of variables) expect(environment).not.toContain('resolve:secretsmanager');
  });

  it('THEN no IAM statement grants `*` actions, or data actions on `*` resources', () => {
    const statements = allowStatements(template);
    expect(wildcardActionGrants(statements)).toEqual([]);
    expect(wildcardDataGrants(statements)).toEqual([]);
  });

  it('THEN grantManage lets a principal invoke only the manager URL', () => {
    const operator = allowStatements(template).filter((statement) => statement.where.startsWith('Operator'));
    expect(operator.flatMap((statement) => statement.actions)).toEqual(['lambda:InvokeFunctionUrl', 'lambda:InvokeFunction']);
    for (const statement of operator) expect(statement.resources).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^ControlPlaneManager/), 'Arn'] }]);
  });

  it('THEN each function may use only the DynamoDB actions the stores issue: no Scan, no batch or table actions', () => {
    const dynamo = allowStatements(template).filter((statement) => statement.actions.some((action) => action.startsWith('dynamodb:')));
    expect(dynamo.map((statement) => statement.where.replace(/Role.*/, '')).sort()).toEqual(FUNCTIONS);
    for (const statement of dynamo) {
      expect(statement.actions.sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
      expect(statement.resources).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^ControlPlaneTable/), 'Arn'] }]);
    }
  });

  it('THEN a keyed origin is readable, and its key decrypts for each function only through S3', () => {
    const decrypts = allowStatements(template).filter((statement) => statement.actions.includes('kms:Decrypt'));
    expect(decrypts.map((statement) => statement.where.replace(/Role.*/, '')).sort()).toEqual(FUNCTIONS);
    for (const statement of decrypts) {
      expect(statement.actions).toEqual(['kms:Decrypt']);
      expect(statement.resources).toEqual([SECURE_KEY_ARN]);
      expect(statement.conditions).toEqual({ StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } });
    }
    const reads = allowStatements(template).filter((statement) => JSON.stringify(statement.resources).includes(':s3:::secure-bucket/*'));
    expect(reads).toHaveLength(4);
  });

  it('THEN failed asynchronous preheat invocations go, after 2 retries, to an encrypted dead-letter queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('^ControlPlanePreheat') },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ControlPlanePreheatDeadLetters'), 'Arn'] } } },
    });
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 2);
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
  });

  it('THEN the functions run with their own roles: no managed policy, logs only to their own log group', () => {
    const roles = template.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] } } });
    const own = Object.entries(roles).filter(([id]) => id.startsWith('ControlPlane'));
    expect(own).toHaveLength(4);
    for (const [, role] of own) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const logWrites = allowStatements(template).filter((statement) => statement.actions.includes('logs:PutLogEvents') && statement.where.startsWith('ControlPlane'));
    expect(logWrites).toHaveLength(4);
    for (const statement of logWrites) expect(statement.resources).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^ControlPlane(Scheduler|Manager|Preheat|Digest)Logs/), 'Arn'] }]);
  });

  it('THEN the scheduler hands S3 digest jobs to the digest function: 15 minutes, one vCPU, retries then dead letters, invoked by the scheduler only', () => {
    const [[digestId, digest]] = Object.entries(template.findResources('AWS::Lambda::Function', { Properties: { Description: 'Mayfly digest' } }));
    expect(digest.Properties).toMatchObject({ Timeout: 900, MemorySize: 1769, Handler: 'index.handler' });
    const [, scheduler] = Object.entries(template.findResources('AWS::Lambda::Function', { Properties: { Description: 'Mayfly scheduler' } }))[0];
    expect(scheduler.Properties.Environment.Variables.MAYFLY_DIGEST_FUNCTION).toEqual({ Ref: digestId });
    const invokes = allowStatements(template).filter((statement) => statement.actions.includes('lambda:InvokeFunction') && JSON.stringify(statement.resources).includes(digestId));
    expect(invokes.map((statement) => statement.where.replace(/Role.*/, ''))).toEqual(['ControlPlaneScheduler']);
    expect(invokes[0].resources).toEqual([{ 'Fn::GetAtt': [digestId, 'Arn'] }]);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: digestId },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ControlPlaneDigestDeadLetters'), 'Arn'] } } },
    });
  });

  it('refuses to build a control plane with no origin', () => {
    expect(() => new MayflyControlPlane(new Stack(testApp(), 'Empty'), 'ControlPlane', { origins: [] })).toThrow(/at least one origin/);
  });
});
