import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle } from '../scripts/bundles.ts';
import type { Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';
import { LOCAL_S3_CREDENTIALS } from '../local/s3-server.ts';
import { CloudRecordsServer } from './fixtures/cloud-records-server.ts';

/**
 * The deployed artifact works: the esbuild-built Lambda files (built as `cdk deploy`
 * builds them) are loaded by a plain `node` and their `handler` is called with Function
 * URL (payload v2) events against the local DynamoDB and S3 servers.
 */

const ECS_CLUSTER = 'arn:aws:ecs:us-east-1:123456789012:cluster/apps';

interface FunctionUrlResult {
  readonly statusCode: number;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

/**
 * Runs in a child `node`: imports the bundle natively (no vitest transform, no tsx), as the
 * Lambda runtime would, and calls its handler for each event sent over IPC. The bundle's
 * own logs go to the child's stdout, so results travel on the IPC channel instead.
 */
const HARNESS = `
const handler = (await import(new URL(process.argv[1], 'file://').href))[process.argv[2]];
if (typeof handler !== 'function') throw new Error('no export ' + process.argv[2]);
const context = { functionName: 'mayfly-test', awsRequestId: 'test', getRemainingTimeInMillis: () => 10000 };
process.on('message', async ({ id, event }) => {
  try { process.send({ id, result: await handler(event, context) }); }
  catch (error) { process.send({ id, error: String(error && error.stack || error) }); }
});
process.send({ ready: true });
`;

interface BundleProcess {
  invoke<T = FunctionUrlResult>(event: unknown): Promise<T>;
  stop(): void;
}

async function loadBundle(file: string, env: NodeJS.ProcessEnv, exportName = 'handler'): Promise<BundleProcess> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', HARNESS, file, exportName], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const pending = new Map<number, { resolve: (result: never) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bundle ${file} exited with ${code} while loading:\n${output}`)));
    child.on('message', (message: { ready?: true; id?: number; result?: never; error?: string }) => {
      if (message.ready) return resolve();
      const waiter = pending.get(message.id!);
      pending.delete(message.id!);
      if (message.error !== undefined) waiter?.reject(new Error(`${message.error}\n${output}`));
      else waiter?.resolve(message.result!);
    });
  });
  return {
    invoke: (event) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        child.send({ id, event });
      }),
    stop: () => child.kill(),
  };
}

function functionUrlEvent(method: string, path: string, token: string | undefined, body?: unknown, iamArn?: string) {
  const [rawPath, rawQueryString = ''] = path.split('?');
  const domainName = 'abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers: { host: domainName, ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abcdefghijklmnopqrstuvwxyz012345',
      domainName,
      domainPrefix: 'abcdefghijklmnopqrstuvwxyz012345',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'mayfly-test' },
      requestId: 'b6f1c7e0-0000-4000-8000-000000000000',
      // What an IAM-authenticated Function URL adds once Lambda verified the SigV4 signature.
      ...(iamArn ? { authorizer: { iam: { userArn: iamArn, accountId: '123456789012', callerId: 'AROAEXAMPLE:i-0abc' } } } : {}),
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2025:00:00:00 +0000',
      timeEpoch: Date.now(),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

describe('Lambda bundles', () => {
  let stack: LocalStack;
  let artifact: Artifact;
  let outdir: string;
  let scheduler: BundleProcess;
  let manager: BundleProcess;
  let preheat: BundleProcess;
  /** The scheduler as the CDK deploys it (MAYFLY_HOST_RECORDS=cloud), against stand-ins of EC2 and ECS. */
  let boundScheduler: BundleProcess;
  let cloud: CloudRecordsServer;

  beforeAll(async () => {
    outdir = await mkdtemp(join(tmpdir(), 'mayfly-bundles-'));
    const [schedulerBundle, managerBundle] = await Promise.all([
      buildBundle('scheduler', join(outdir, 'scheduler')),
      buildBundle('manager', join(outdir, 'manager')),
    ]);
    stack = await LocalStack.start();
    artifact = await stack.putArtifact('bundle/object.bin', 9 * 1024 * 1024);
    // What the CDK construct sets, pointed at the local servers instead of AWS endpoints.
    const env = {
      PATH: process.env.PATH,
      MAYFLY_TABLE: stack.tableName,
      MAYFLY_DYNAMODB_ENDPOINT: stack.dynamo.endpoint,
      MAYFLY_S3_ENDPOINT: stack.origin.endpoint,
      MAYFLY_TOKEN: stack.token,
      MAYFLY_PEER_SECRET: 'lambda-bundle-test-secret',
      MAYFLY_ALLOWED_ORIGINS: `${stack.bucket}/bundle/`,
      MAYFLY_AGENT_ROLES: JSON.stringify({ 'mayfly-agents': 'default' }),
      AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    cloud = await CloudRecordsServer.start(
      [{ id: 'i-0123456789abcdef0', zone: 'use1-az2', ips: ['10.0.1.7'] }, { id: 'i-0aaaaaaaaaaaaaaa1', zone: 'use1-az4', ips: ['10.0.4.4'] }],
      [{ id: '0123456789abcdef0123456789abcdef', cluster: ECS_CLUSTER, zone: 'use1-az4', instanceId: 'i-0aaaaaaaaaaaaaaa1' }],
    );
    const boundEnv = {
      ...env,
      MAYFLY_AGENT_ROLES: JSON.stringify([{ role: 'mayfly-agents', cluster: 'default', seed: false }, { role: 'mayfly-tasks', cluster: 'default', seed: false, ecsCluster: ECS_CLUSTER }]),
      MAYFLY_HOST_RECORDS: 'cloud',
      MAYFLY_EC2_ENDPOINT: cloud.endpoint,
      MAYFLY_ECS_ENDPOINT: cloud.endpoint,
    };
    [scheduler, boundScheduler, manager, preheat] = await Promise.all([
      loadBundle(schedulerBundle.file, env),
      loadBundle(schedulerBundle.file, boundEnv),
      loadBundle(managerBundle.file, env),
      // The preheat function is the manager bundle with another handler export.
      loadBundle(managerBundle.file, env, 's3EventHandler'),
    ]);
  });

  afterAll(async () => {
    scheduler?.stop();
    boundScheduler?.stop();
    await cloud?.stop();
    manager?.stop();
    preheat?.stop();
    await stack?.stop();
    if (outdir) await rm(outdir, { recursive: true, force: true });
  });

  it('GIVEN the scheduler bundle WHEN an agent announces THEN it answers with the task and a back-to-source grant', async () => {
    const event = functionUrlEvent('POST', '/v1/announce', await stack.agentToken('lambda-1'), { url: artifact.url, peerId: 'lambda-1', addr: 'http://127.0.0.1:9', event: 'register' });
    const result = await scheduler.invoke(event);
    expect(result.statusCode, result.body).toBe(200);
    const body = JSON.parse(result.body);
    expect(body.task).toMatchObject({ url: artifact.url, size: artifact.size, pieceLength: 4 * 1024 * 1024, pieceCount: 3 });
    expect(body.backToSource).toBe(true);
    expect(body.parents).toEqual([]);
  });

  it('GIVEN the scheduler bundle WHEN a second agent announces THEN it gets the first as parent and no grant', async () => {
    const event = functionUrlEvent('POST', '/v1/announce', await stack.agentToken('lambda-2'), { url: artifact.url, peerId: 'lambda-2', addr: 'http://127.0.0.1:10', event: 'register' });
    const body = JSON.parse((await scheduler.invoke(event)).body);
    expect(body.backToSource).toBe(false);
    expect(body.parents.map((parent: { peerId: string }) => parent.peerId)).toEqual(['lambda-1']);
  });

  it('GIVEN the scheduler bundle WHEN the URL is outside the allowed origins THEN it refuses', async () => {
    const other = await stack.putArtifact('elsewhere/object.bin', 1024);
    const event = functionUrlEvent('POST', '/v1/announce', await stack.agentToken('lambda-3'), { url: other.url, peerId: 'lambda-3', addr: 'http://127.0.0.1:11', event: 'register' });
    expect((await scheduler.invoke(event)).statusCode).toBe(403);
  });

  it('GIVEN the scheduler bundle WHEN an IAM-signed agent announces THEN its identity is the session, and an unmapped role is refused', async () => {
    const arn = (role: string) => `arn:aws:sts::123456789012:assumed-role/${role}/i-0abc123`;
    const announce = (role: string, body: Record<string, unknown>) =>
      scheduler.invoke(functionUrlEvent('POST', '/v1/announce', undefined, { url: artifact.url, addr: 'http://10.0.1.7:7402', event: 'register', ...body }, arn(role)));
    expect((await announce('mayfly-agents', { peerId: 'i-0abc123', site: 'use1-az1' })).statusCode).toBe(200);
    expect((await announce('mayfly-agents', { peerId: 'i-0other' })).statusCode).toBe(403);
    expect((await announce('mayfly-agents', { peerId: 'i-0abc123', addr: 'http://203.0.113.1:7402' })).statusCode).toBe(403);
    expect((await announce('mayfly-agents', { peerId: 'i-0abc123', seed: true })).statusCode).toBe(403);
    expect((await announce('admin', { peerId: 'i-0abc123' })).statusCode).toBe(401);
  });

  it('GIVEN the deployed scheduler WHEN an IAM-signed agent announces THEN its site and address are EC2\'s or ECS\'s record of it', async () => {
    const announce = (arn: string, body: Record<string, unknown>) =>
      boundScheduler.invoke(functionUrlEvent('POST', '/v1/announce', undefined, { url: artifact.url, event: 'register', ...body }, arn));
    const instance = 'arn:aws:sts::123456789012:assumed-role/mayfly-agents/i-0123456789abcdef0';
    const ok = await announce(instance, { peerId: 'i-0123456789abcdef0', site: 'use1-az2', addr: 'http://10.0.1.7:7402' });
    expect(ok.statusCode, ok.body).toBe(200);
    // Another zone (a lease of its own), another private address (peers sent elsewhere): refused.
    expect((await announce(instance, { peerId: 'i-0123456789abcdef0', site: 'use1-az9', addr: 'http://10.0.1.7:7402' })).statusCode).toBe(403);
    expect((await announce(instance, { peerId: 'i-0123456789abcdef0', site: 'use1-az2', addr: 'http://10.0.9.9:7402' })).statusCode).toBe(403);
    // A session name that is no running instance proves nothing.
    const gone = await announce('arn:aws:sts::123456789012:assumed-role/mayfly-agents/i-0bbbbbbbbbbbbbbb2', { peerId: 'i-0bbbbbbbbbbbbbbb2', addr: 'http://10.0.1.8:7402' });
    expect(gone.statusCode).toBe(403);
    // An ECS task: its zone, and its container instance's address (host networking).
    const task = await announce('arn:aws:sts::123456789012:assumed-role/mayfly-tasks/0123456789abcdef0123456789abcdef', {
      peerId: '0123456789abcdef0123456789abcdef',
      addr: 'http://10.0.4.4:7402',
    });
    expect(task.statusCode, task.body).toBe(200);
    // EC2 throttling: 503, so the agent retries (the cached record still serves the known instance).
    cloud.throttle = true;
    try {
      expect((await announce(instance, { peerId: 'i-0123456789abcdef0', addr: 'http://10.0.1.7:7402' })).statusCode).toBe(200);
      const unknown = await announce('arn:aws:sts::123456789012:assumed-role/mayfly-agents/i-0ccccccccccccccc3', { peerId: 'i-0ccccccccccccccc3' });
      expect(unknown.statusCode).toBe(503);
    } finally {
      cloud.throttle = false;
    }
  });

  it('GIVEN the manager bundle WHEN listing tasks THEN the announced task is there', async () => {
    const result = await manager.invoke(functionUrlEvent('GET', '/v1/tasks?limit=10', stack.token));
    expect(result.statusCode, result.body).toBe(200);
    const { tasks } = JSON.parse(result.body);
    expect(tasks.map((task: { url: string }) => task.url)).toContain(artifact.url);
  });

  it('GIVEN the preheat export WHEN S3 reports a created object THEN it handles the record', async () => {
    const event = { Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: stack.bucket }, object: { key: 'bundle/object.bin' } } }] };
    const result = await preheat.invoke<{ objects: number; failed: number }>(event);
    // No cluster lists this prefix in preheatOrigins, so no job opens; the record is read without error.
    expect(result).toMatchObject({ objects: 1, failed: 0 });
  });

  it('GIVEN either bundle WHEN the token is wrong THEN 401', async () => {
    expect((await manager.invoke(functionUrlEvent('GET', '/v1/tasks', 'wrong'))).statusCode).toBe(401);
  });
});
