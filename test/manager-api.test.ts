import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';
import { LOCAL_S3_CREDENTIALS } from '../local/s3-server.ts';

/** The manager's operator API and its effect on the scheduler, over the real stores (dynalite + s3rver). */
describe('manager API', () => {
  let stack: LocalStack;
  let artifact: Artifact;

  const call = (base: string, method: string, path: string, body?: unknown, token: string | null = stack.token) =>
    fetch(`${base}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  const manager = (method: string, path: string, body?: unknown, token?: string | null) => call(stack.manager.url, method, path, body, token);
  /** An agent's call: with its own token, enrolled as the operator would (the body's peer id, cluster, site and role). */
  const scheduler = async (method: string, path: string, body?: unknown) => {
    const { peerId, cluster, site, seed } = (body ?? {}) as { peerId?: string; cluster?: string; site?: string; seed?: boolean };
    const token = await stack.agentToken(peerId ?? 'reader', { ...(cluster ? { cluster } : {}), ...(site ? { site } : {}), ...(seed ? { seed } : {}) });
    return call(stack.scheduler.url, method, path, body, token);
  };
  const json = async (response: Response) => ({ status: response.status, body: (await response.json()) as any });

  beforeAll(async () => {
    stack = await LocalStack.start();
    artifact = await stack.putArtifact('allowed/object.bin', 5 * 1024 * 1024);
    await stack.putArtifact('elsewhere/object.bin', 1024);
    await stack.putArtifact('models/a.bin', 1024);
    await stack.putArtifact('models/b.bin', 2048);
  });
  afterAll(async () => stack?.stop());

  it('requires the token except for health and the console page', async () => {
    expect((await manager('GET', '/v1/health', undefined, null)).status).toBe(200);
    expect((await manager('GET', '/v1/clusters', undefined, null)).status).toBe(401);
    expect((await manager('GET', '/v1/clusters', undefined, 'wrong')).status).toBe(401);
    const page = await manager('GET', '/console', undefined, null);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script src="/console/app.js">');
    const script = await manager('GET', '/console/app.js', undefined, null);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(await script.text()).toContain("api('POST', '/v1/preheats'");
  });

  it('stores clusters and rejects bad settings with a reason', async () => {
    const listed = await json(await manager('GET', '/v1/clusters'));
    expect(listed.body.clusters.map((c: { name: string }) => c.name)).toContain('default');

    const settings = { allowedOrigins: ['mayfly-demo/allowed/'], parentLimit: 1, backToSourceLimit: 1, minAnnounceIntervalMs: 7000 };
    const put = await json(await manager('PUT', '/v1/clusters/restricted', { description: 'edge', settings }));
    expect(put.status).toBe(200);
    const got = await json(await manager('GET', '/v1/clusters/restricted'));
    expect(got.body).toMatchObject({ name: 'restricted', description: 'edge', settings });

    const bad: Array<[string, unknown, RegExp]> = [
      ['restricted', { settings: { parentLimit: 0 } }, /settings\.parentLimit/],
      ['restricted', { settings: { allowedOrigins: ['Not A Bucket'] } }, /allowedOrigins\.0: must be bucket or bucket\/prefix/],
      ['restricted', { settings: { surprise: true } }, /settings/],
      ['restricted', '{oops', /not valid JSON/],
      ['no spaces allowed', { settings: {} }, /cluster name/],
    ];
    for (const [name, body, reason] of bad) {
      const answer = await json(await manager('PUT', `/v1/clusters/${encodeURIComponent(name)}`, body));
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.message).toMatch(reason);
    }
    expect((await manager('DELETE', '/v1/clusters/never-made')).status).toBe(404);
  });

  it('has the scheduler honour a cluster’s allowlist, parent limit and announce interval', async () => {
    const announce = (peerId: string, url: string) =>
      scheduler('POST', '/v1/announce', { url, peerId, addr: 'http://127.0.0.1:9', cluster: 'restricted', event: 'register' });
    const refused = await json(await announce('r-0', `s3://${stack.bucket}/elsewhere/object.bin`));
    expect(refused.status).toBe(403);
    expect(refused.body.message).toMatch(/allowed origins/);

    const first = await json(await announce('r-1', artifact.url));
    expect(first.status).toBe(200);
    expect(first.body.announceIntervalMs).toBeGreaterThanOrEqual(7000);
    await announce('r-2', artifact.url);
    const third = await json(await announce('r-3', artifact.url));
    expect(third.body.parents.length).toBe(1);

    // The same URL in the default cluster is not restricted.
    const open = await scheduler('POST', '/v1/announce', { url: `s3://${stack.bucket}/elsewhere/object.bin`, peerId: 'd-1', addr: 'http://127.0.0.1:9', event: 'register' });
    expect(open.status).toBe(200);
  });

  it('lists hosts from their heartbeats, with site, role and load', async () => {
    const beat = await json(
      await scheduler('POST', '/v1/hosts/heartbeat', { peerId: 'host-a', site: 'az-1', seed: true, uploads: 3, activeTasks: 1, cacheBytes: 4096, addr: 'http://127.0.0.1:9' }),
    );
    expect(beat.status).toBe(200);
    expect(beat.body.intervalMs).toBe(stack.heartbeatIntervalMs);
    await scheduler('POST', '/v1/hosts/heartbeat', { peerId: 'host-b', site: 'az-2' });
    const hosts = (await json(await manager('GET', '/v1/hosts'))).body.hosts as any[];
    const a = hosts.find((h) => h.peerId === 'host-a');
    expect(a).toMatchObject({ site: 'az-1', role: 'seed', uploads: 3, activeTasks: 1, cacheBytes: 4096, live: true });
    expect(Date.now() - Date.parse(a.lastSeen)).toBeLessThan(10_000);
    expect(hosts.find((h) => h.peerId === 'host-b')).toMatchObject({ site: 'az-2', role: 'normal' });

    const bad = await json(await scheduler('POST', '/v1/hosts/heartbeat', { peerId: 'host-c', cacheBytes: -1 }));
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/cacheBytes/);
  });

  it('runs a preheat job through seed heartbeats: one seed per site claims it, a report finishes it', async () => {
    const created = await json(await manager('POST', '/v1/preheats', { url: artifact.url, sites: ['az-1'] }));
    expect(created.status).toBe(201);
    const [job] = created.body.jobs;
    expect(job).toMatchObject({ url: artifact.url, sites: ['az-1'], state: 'pending', source: 'api' });

    const beat = async (peerId: string, site: string, extra: Record<string, unknown> = {}) =>
      (await json(await scheduler('POST', '/v1/hosts/heartbeat', { peerId, site, seed: true, ...extra }))).body;
    expect((await beat('seed-other-site', 'az-2')).preheat).toEqual([]);
    expect((await beat('host-a', 'az-1')).preheat).toEqual([{ jobId: job.id, url: artifact.url }]);
    expect((await beat('seed-second', 'az-1')).preheat).toEqual([]); // claimed by host-a
    expect((await json(await manager('GET', `/v1/preheats/${job.id}`))).body.state).toBe('running');

    const taskId = 'a'.repeat(64);
    await beat('host-a', 'az-1', { preheat: [{ jobId: job.id, state: 'done', taskId }] });
    const done = (await json(await manager('GET', `/v1/preheats/${job.id}`))).body;
    expect(done).toMatchObject({ state: 'done', doneBy: { 'az-1': 'host-a' }, taskId });
    expect((await beat('seed-second', 'az-1')).preheat).toEqual([]);
    const listed = (await json(await manager('GET', '/v1/preheats'))).body.jobs as any[];
    expect(listed.map((j) => j.id)).toContain(job.id);
  });

  it('preheats every object under a prefix and refuses bad preheats with a reason', async () => {
    const prefix = await json(await manager('POST', '/v1/preheats', { url: `s3://${stack.bucket}/models/`, kind: 'prefix', sites: ['az-9'] }));
    expect(prefix.status).toBe(201);
    // One job for the prefix, its objects as items (test/prefix-preheat.test.ts follows one to done).
    expect(prefix.body.jobs).toHaveLength(1);
    expect(prefix.body.jobs[0]).toMatchObject({ url: `s3://${stack.bucket}/models/`, kind: 'prefix', itemCount: 2, state: 'pending' });
    const items = (await json(await manager('GET', `/v1/preheats/${prefix.body.jobs[0].id}`))).body.items as { url: string }[];
    expect(items.map((item) => item.url)).toEqual([`s3://${stack.bucket}/models/a.bin`, `s3://${stack.bucket}/models/b.bin`]);

    const cases: Array<[unknown, number, RegExp]> = [
      [{ url: `s3://${stack.bucket}/no/such.bin` }, 404, /no\/such\.bin/],
      [{ url: `s3://${stack.bucket}/nothing-here/`, kind: 'prefix' }, 404, /no objects/],
      [{ url: 'https://example.com/x' }, 400, /not an S3 URL/],
      [{ url: artifact.url, kind: 'folder' }, 400, /kind/],
      [{ url: artifact.url, sites: [] }, 400, /sites/],
      [{ url: `s3://${stack.bucket}/elsewhere/object.bin`, cluster: 'restricted' }, 403, /allowed origins/],
    ];
    for (const [body, status, reason] of cases) {
      const answer = await json(await manager('POST', '/v1/preheats', body));
      expect(answer.status, JSON.stringify(body)).toBe(status);
      expect(answer.body.message).toMatch(reason);
    }
    expect((await manager('GET', '/v1/preheats/nope')).status).toBe(404);
  });

  it('issues access tokens, stores only their hash, and revokes them', async () => {
    const created = await json(await manager('POST', '/v1/tokens', { name: 'ci pipeline', expiresInDays: 30 }));
    expect(created.status).toBe(201);
    const secret: string = created.body.token;
    expect(secret).toMatch(/^mf_/);
    expect((await manager('GET', '/v1/tasks', undefined, secret)).status).toBe(200);

    const listed = await json(await manager('GET', '/v1/tokens'));
    const entry = listed.body.tokens.find((t: { id: string }) => t.id === created.body.id);
    expect(entry).toMatchObject({ name: 'ci pipeline', revoked: false });
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    const { DynamoDBClient, GetItemCommand } = await import('@aws-sdk/client-dynamodb');
    const dynamo = new DynamoDBClient({ endpoint: stack.dynamo.endpoint, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS });
    const hash = createHash('sha256').update(secret).digest('hex');
    const stored = await dynamo.send(new GetItemCommand({ TableName: stack.tableName, Key: { pk: { S: 'TOKENS' }, sk: { S: created.body.id } } }));
    expect(stored.Item?.hash?.S).toBe(hash);
    expect(JSON.stringify(stored.Item)).not.toContain(secret);
    dynamo.destroy();

    expect((await manager('DELETE', `/v1/tokens/${created.body.id}`)).status).toBe(200);
    expect((await manager('GET', '/v1/tasks', undefined, secret)).status).toBe(401);
    expect((await manager('DELETE', '/v1/tokens/000000000000')).status).toBe(404);
    expect((await json(await manager('POST', '/v1/tokens', { name: '' }))).body.message).toMatch(/name/);
  });

  it('issues agent tokens bound to one peer, which the manager refuses', async () => {
    const body = { name: 'host 1', scope: 'agent', peerId: 'host-1', cluster: 'default', site: 'az1', seed: true, addrs: ['203.0.113.5'] };
    const created = await json(await manager('POST', '/v1/tokens', body));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ scope: 'agent', agent: { peerId: 'host-1', cluster: 'default', site: 'az1', seed: true, addrs: ['203.0.113.5'] } });
    expect((await manager('GET', '/v1/tasks', undefined, created.body.token)).status).toBe(401);
    expect((await manager('POST', '/v1/tokens', { name: 'x' }, created.body.token)).status).toBe(401);
    expect((await json(await manager('POST', '/v1/tokens', { name: 'no peer', scope: 'agent' }))).body.message).toMatch(/peerId/);
    expect((await json(await manager('POST', '/v1/tokens', { name: 'op', peerId: 'host-2' }))).body.message).toMatch(/only an agent token/);
  });

  it('turns S3 ObjectCreated events under a cluster’s preheat prefixes into jobs (Lambda entry)', async () => {
    await manager('PUT', '/v1/clusters/releases', { settings: { preheatOrigins: [`${stack.bucket}/incoming/`] } });
    await stack.putArtifact('incoming/new file.bin', 1024);
    const event = (key: string, eventName = 'ObjectCreated:Put') => ({
      Records: [{ eventName, s3: { bucket: { name: stack.bucket }, object: { key } } }],
    });
    const direct = await stack.managerHandle.onS3Event(event('incoming/new+file.bin'));
    expect(direct.jobs).toHaveLength(1);
    expect(direct.jobs[0]).toMatchObject({ cluster: 'releases', source: 's3-event', url: `s3://${stack.bucket}/incoming/new%20file.bin` });
    expect((await stack.managerHandle.onS3Event(event('elsewhere/object.bin'))).jobs).toHaveLength(0);
    expect((await stack.managerHandle.onS3Event(event('incoming/new+file.bin', 'ObjectRemoved:Delete'))).objects).toBe(0);
    await expect(stack.managerHandle.onS3Event({ nope: true })).rejects.toThrow(/Records/);

    // The exported Lambda handler, configured from the environment as in AWS.
    Object.assign(process.env, {
      MAYFLY_TABLE: stack.tableName,
      MAYFLY_DYNAMODB_ENDPOINT: stack.dynamo.endpoint,
      MAYFLY_S3_ENDPOINT: stack.origin.endpoint,
      AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
    });
    const { s3EventHandler } = await import('../lambdas/manager/handler.ts');
    const viaLambda = await s3EventHandler(event('incoming/new+file.bin'));
    expect(viaLambda.jobs).toHaveLength(1);
    const jobs = (await json(await manager('GET', '/v1/preheats?cluster=releases'))).body.jobs as any[];
    expect(jobs.filter((j) => j.source === 's3-event')).toHaveLength(2);
  });

  it('emits CloudWatch embedded metrics for announces, grants and errors', async () => {
    stack.metricLines.length = 0;
    const url = `s3://${stack.bucket}/models/a.bin`;
    const answer = await json(await scheduler('POST', '/v1/announce', { url, peerId: 'emf-1', addr: 'http://127.0.0.1:9', event: 'register' }));
    expect(answer.body.backToSource).toBe(true);
    await scheduler('POST', '/v1/announce', { url, peerId: 'emf-1', addr: 'http://127.0.0.1:9', event: 'finished', completed: 1, bytesFromOrigin: 1024, bytesFromPeers: 0 });
    const all = stack.metricLines.map((line) => JSON.parse(line));
    // The control plane's own read of the object for its digests is counted apart from the sites' reads.
    await expect.poll(() => stack.metricLines.map((line) => JSON.parse(line)).some((line) => line.DigestBytesRead === 1024)).toBe(true);
    const lines = all.filter((line) => line.Announces !== undefined);
    expect(lines).toHaveLength(2);
    const [first, second] = lines;
    expect(first._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'Mayfly', Dimensions: [['Service']] });
    const names = first._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name);
    expect(names).toEqual(expect.arrayContaining(['Announces', 'AnnounceLatencyMs', 'BackToSourceGrants']));
    expect(first).toMatchObject({ Service: 'scheduler', Announces: 1, BackToSourceGrants: 1, taskId: answer.body.task.id, peerId: 'emf-1' });
    expect(first.AnnounceLatencyMs).toBeGreaterThan(0);
    expect(second).toMatchObject({ BytesFromOrigin: 1024, BytesFromPeers: 0, event: 'finished' });
    expect(second.BackToSourceGrants).toBeUndefined();
  });
});
