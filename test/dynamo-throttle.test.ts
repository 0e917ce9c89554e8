import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.ts';
import { createManager } from '../lambdas/manager/wiring.ts';
import { createScheduler } from '../lambdas/scheduler/wiring.ts';
import { serveApp, type RunningServer } from '../lambdas/shared/node-server.ts';
import { createDynamoClient } from '../lambdas/stores/dynamo-client.ts';
import { taskKey } from '../lambdas/stores/keys.ts';
import { ensureTable } from '../lambdas/stores/table-schema.ts';
import { uploadArtifact, type Artifact } from '../local/artifact.ts';
import { startDynalite, type DynamoServer } from '../local/dynamo-server.ts';
import { LOCAL_S3_CREDENTIALS, localS3Client, startS3Server, type S3Server } from '../local/s3-server.ts';
import { startThrottlingDynamo, type ThrottlingDynamo } from './fixtures/throttling-dynamo.ts';

/**
 * Every DynamoDB throttle the scheduler or manager meets becomes 503 with a
 * Retry-After header, mapped by the store that met it (its message names the
 * state store), never a 500. A proxy in front of dynalite throttles one
 * operation at a time; the clients make one attempt, so no SDK retry hides it.
 */
describe('DynamoDB throttling', () => {
  const bucket = 'mayfly-throttle';
  const token = randomBytes(16).toString('hex');
  let root: string;
  let dynalite: DynamoServer;
  let proxy: ThrottlingDynamo;
  let s3Server: S3Server;
  let s3: S3Client;
  let scheduler: RunningServer;
  let manager: RunningServer;
  let artifact: Artifact;
  let taskId: string;
  /** dynalite itself, not through the proxy. */
  let direct: DynamoDBClient;

  const call = (base: string, method: string, path: string, body?: unknown, bearer = token) =>
    fetch(`${base}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), authorization: `Bearer ${bearer}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const toManager = (method: string, path: string, body?: unknown, bearer?: string) => call(manager.url, method, path, body, bearer);
  /** Each agent's own token (issued through the manager, bound to the body's peer id, cluster, site and role), issued unthrottled. */
  const agentTokens = new Map<string, Promise<string>>();
  const agentToken = (body: { peerId?: string; cluster?: string; site?: string; seed?: boolean }) => {
    const peerId = body.peerId ?? 'reader';
    if (!agentTokens.has(peerId)) {
      const request = { name: peerId, scope: 'agent', peerId, cluster: body.cluster, site: body.site, seed: body.seed, addrs: ['127.0.0.1'] };
      agentTokens.set(peerId, toManager('POST', '/v1/tokens', request).then(async (answer) => ((await answer.json()) as { token: string }).token));
    }
    return agentTokens.get(peerId)!;
  };
  const toScheduler = async (method: string, path: string, body?: unknown) =>
    call(scheduler.url, method, path, body, await agentToken((body ?? {}) as { peerId?: string }));
  const announce = (peerId: string, extra: Record<string, unknown> = {}) =>
    toScheduler('POST', '/v1/announce', { url: artifact.url, peerId, addr: 'http://127.0.0.1:9', event: 'register', ...extra });

  /** Throttles `operation` (after `skip` calls of it), sends the request, and checks the answer is a mapped 503 with Retry-After. */
  async function expectThrottled(operation: string, send: () => Promise<Response>, skip = 0): Promise<{ message: string }> {
    proxy.throttle(operation, skip);
    let response: Response;
    try {
      response = await send();
    } finally {
      proxy.throttle(undefined);
    }
    const body = await response.json();
    expect(proxy.throttled(), `${operation} was never called`).toBeGreaterThan(0);
    expect({ status: response.status, body }).toMatchObject({ status: 503, body: { error: 'Unavailable', retryAfterMs: expect.any(Number) } });
    expect(response.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
    // Mapped by the store itself, not by the HTTP layer's safety net for stray SDK errors.
    expect(body.message).toMatch(/state store unavailable/);
    return body;
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'mayfly-throttle-'));
    dynalite = await startDynalite();
    proxy = await startThrottlingDynamo(dynalite.endpoint);
    s3Server = await startS3Server(root, [bucket]);
    s3 = localS3Client(s3Server.endpoint);
    const log = createLogger({ sink: () => {}, level: 'error' });
    const dynamo = { endpoint: proxy.endpoint, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS, maxAttempts: 1 };
    const s3Options = { endpoint: s3Server.endpoint, forcePathStyle: true, credentials: LOCAL_S3_CREDENTIALS };
    direct = createDynamoClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS });
    await ensureTable(direct, 'mayfly');
    const schedulerHandle = createScheduler({ tableName: 'mayfly', dynamo, s3: s3Options, token, peerSecret: 'p'.repeat(64), log, heartbeatIntervalMs: 1_000 });
    scheduler = await serveApp(schedulerHandle.app);
    manager = await serveApp(createManager({ tableName: 'mayfly', dynamo, s3: s3Options, token, log, heartbeatIntervalMs: 1_000 }).app);
    artifact = await uploadArtifact(s3, bucket, 'throttle/object.bin', 5 * 1024 * 1024);
    const first = await announce('first');
    expect(first.status).toBe(200);
    taskId = (await first.json()).task.id;
  });

  afterAll(async () => {
    await scheduler?.close();
    await manager?.close();
    direct?.destroy();
    await proxy?.stop();
    await dynalite?.stop();
    s3?.destroy();
    await s3Server?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  describe('scheduler', () => {
    it('GetItem: an announce (task, and the settings of a cluster not read before)', async () => {
      await expectThrottled('GetItem', () => announce('reader'));
      // The token is looked up once (a refused leave, which reads nothing else), so the next GetItem is the cluster's.
      await agentToken({ peerId: 'reader-unread', cluster: 'unread' });
      expect((await toScheduler('POST', `/v1/tasks/${taskId}/leave`, { peerId: 'reader-unread', other: true })).status).toBe(400);
      expect((await expectThrottled('GetItem', () => announce('reader-unread', { cluster: 'unread' }))).message).toMatch(/getCluster/);
    });

    it('PutItem: an announce of a new object (task and URL items)', async () => {
      const fresh = await uploadArtifact(s3, bucket, 'throttle/fresh.bin', 1024);
      await agentToken({ peerId: 'p' }); // issued (two PutItems) before the throttle
      await expectThrottled('PutItem', () => toScheduler('POST', '/v1/announce', { url: fresh.url, peerId: 'p', addr: 'http://127.0.0.1:9', event: 'register' }));
    });

    it('PutItem: a progress announce (the peer item)', async () => {
      await expectThrottled('PutItem', () => announce('first', { event: 'progress', taskId }));
    });

    it('UpdateItem: a register (peer count)', async () => {
      await expectThrottled('UpdateItem', () => announce('newcomer', { taskId }));
    });

    it('UpdateItem: widening the shards of a growing swarm', async () => {
      // Past peersPerShard registrations the third update widens the shards (the first counts the agent's
      // registrations a minute, the second its peer); registers past 64 are counted 1 in 8.
      const grown = { UpdateExpression: 'SET peerCount = :n, shards = :one', ExpressionAttributeValues: { ':n': { N: '300' }, ':one': { N: '1' } } };
      await direct.send(new UpdateItemCommand({ TableName: 'mayfly', Key: taskKey(taskId), ...grown }));
      const finished = { taskId, completed: 1000 };
      let response: Response | undefined;
      for (let i = 0; i < 200 && (!response || response.status === 200); i++) {
        await agentToken({ peerId: `grower-${i}` });
        proxy.throttle('UpdateItem', 2);
        response = await announce(`grower-${i}`, finished);
        proxy.throttle(undefined);
      }
      expect(response!.status).toBe(503);
      expect(response!.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
      expect((await response!.json()).message).toMatch(/state store unavailable during widenShards/);
    });

    it('UpdateItem: a seed taking a preheat job (the job starts running)', async () => {
      const [job] = (await (await toManager('POST', '/v1/preheats', { url: artifact.url, sites: ['b'] })).json()).jobs;
      const heartbeat = { peerId: 'seed-b', site: 'b', seed: true, addr: 'http://127.0.0.1:9' };
      await expectThrottled('UpdateItem', () => toScheduler('POST', '/v1/hosts/heartbeat', heartbeat), 1);
      expect((await (await toManager('GET', `/v1/preheats/${job.id}`)).json()).state).toBe('pending');
    });

    it('UpdateItem: a seed reporting a preheat job done at one of two sites, and at the last', async () => {
      const [job] = (await (await toManager('POST', '/v1/preheats', { url: artifact.url, sites: ['c', 'd'] })).json()).jobs;
      const report = (site: string) => ({ peerId: `seed-${site}`, site, seed: true, addr: 'http://127.0.0.1:9', preheat: [{ jobId: job.id, state: 'done', taskId }] });
      await expectThrottled('UpdateItem', () => toScheduler('POST', '/v1/hosts/heartbeat', report('c')), 1);
      expect((await toScheduler('POST', '/v1/hosts/heartbeat', report('c'))).status).toBe(200);
      await expectThrottled('UpdateItem', () => toScheduler('POST', '/v1/hosts/heartbeat', report('d')), 1);
      expect((await toScheduler('POST', '/v1/hosts/heartbeat', report('d'))).status).toBe(200);
      expect((await (await toManager('GET', `/v1/preheats/${job.id}`)).json()).state).toBe('done');
    });

    it('UpdateItem: a seed reporting a failed preheat job', async () => {
      const [job] = (await (await toManager('POST', '/v1/preheats', { url: artifact.url, sites: ['a'] })).json()).jobs;
      const heartbeat = { peerId: 'seed-1', site: 'a', seed: true, addr: 'http://127.0.0.1:9', preheat: [{ jobId: job.id, state: 'failed', error: 'disk' }] };
      await expectThrottled('UpdateItem', () => toScheduler('POST', '/v1/hosts/heartbeat', heartbeat));
    });

    it('UpdateItem: a seed reporting a done preheat job', async () => {
      const [job] = (await (await toManager('POST', '/v1/preheats', { url: artifact.url, sites: ['a'] })).json()).jobs;
      const heartbeat = { peerId: 'seed-1', site: 'a', seed: true, addr: 'http://127.0.0.1:9', preheat: [{ jobId: job.id, state: 'done', taskId }] };
      await expectThrottled('UpdateItem', () => toScheduler('POST', '/v1/hosts/heartbeat', heartbeat));
    });

    it('Query: a progress announce (parent sample)', async () => {
      await expectThrottled('Query', () => announce('newcomer', { event: 'progress', taskId }));
    });

    it('Query and PutItem: asking a live seed of the site to fetch first', async () => {
      expect((await toScheduler('POST', '/v1/hosts/heartbeat', { peerId: 'seed-e', site: 'e', seed: true, addr: 'http://127.0.0.1:9' })).status).toBe(200);
      const fresh = await uploadArtifact(s3, bucket, 'throttle/seeded.bin', 1024);
      const register = () => toScheduler('POST', '/v1/announce', { url: fresh.url, peerId: 'e-1', site: 'e', addr: 'http://127.0.0.1:9', event: 'register' });
      // The parent sample is the first Query, the site's live seeds the second.
      expect((await expectThrottled('Query', register, 1)).message).toMatch(/listSeeds/);
      // The task and its URL are stored by now: the trigger is the first PutItem.
      expect((await expectThrottled('PutItem', register)).message).toMatch(/triggerPreheat/);
    });

    it('Query: the manifest', async () => {
      await expectThrottled('Query', () => toScheduler('GET', `/v1/tasks/${taskId}/digests`));
    });

    it('DeleteItem: a leave', async () => {
      await expectThrottled('DeleteItem', () => toScheduler('POST', `/v1/tasks/${taskId}/leave`, { peerId: 'newcomer' }));
    });
  });

  describe('manager', () => {
    it('Query: clusters, tasks, hosts, preheats and tokens', async () => {
      for (const path of ['/v1/clusters', '/v1/tasks', '/v1/hosts', '/v1/preheats', '/v1/tokens']) {
        await expectThrottled('Query', () => toManager('GET', path));
      }
    });

    it('GetItem: a cluster, and an access token checked on a request', async () => {
      await expectThrottled('GetItem', () => toManager('GET', '/v1/clusters/default'));
      const { token: secret } = await (await toManager('POST', '/v1/tokens', { name: 'throttle' })).json();
      await expectThrottled('GetItem', () => toManager('GET', '/v1/clusters', undefined, secret));
    });

    it('PutItem: a cluster, a token and a preheat job', async () => {
      await expectThrottled('PutItem', () => toManager('PUT', '/v1/clusters/edge', { settings: {} }));
      await expectThrottled('PutItem', () => toManager('POST', '/v1/tokens', { name: 'throttled' }));
      await expectThrottled('PutItem', () => toManager('POST', '/v1/preheats', { url: artifact.url, sites: ['a'] }));
    });

    it('UpdateItem: revoking a token', async () => {
      const { id } = await (await toManager('POST', '/v1/tokens', { name: 'doomed' })).json();
      await expectThrottled('UpdateItem', () => toManager('DELETE', `/v1/tokens/${id}`));
    });

    it('DeleteItem: a cluster', async () => {
      expect((await toManager('PUT', '/v1/clusters/gone', { settings: {} })).status).toBe(200);
      await expectThrottled('DeleteItem', () => toManager('DELETE', '/v1/clusters/gone'));
    });
  });
});
