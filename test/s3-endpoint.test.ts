import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListBucketsCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import { artifactBytes, type Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';
import { sha256File } from '../local/swarm-pull.ts';

const MiB = 1024 * 1024;
const hasAwsCli = spawnSync('aws', ['--version'], { stdio: 'ignore' }).status === 0;


async function errorOf(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (error) {
    return error as S3ServiceException;
  }
  throw new Error('expected the request to fail');
}

/** The real @aws-sdk/client-s3, pointed at a real agent process's S3-compatible endpoint. */
describe('S3-compatible endpoint', () => {
  let stack: LocalStack;
  let agent: AgentProcess;
  let small: Artifact;
  let big: Artifact;
  let s3: S3Client;

  const cachedBytes = async (taskUrl: string): Promise<{ completedBytes: number; size: number }> => {
    const { tasks } = (await (await fetch(`${agent.apiUrl}/v1/tasks`)).json()) as { tasks: { url: string; completedBytes: number; size: number }[] };
    const task = tasks.find((entry) => entry.url === taskUrl);
    if (!task) throw new Error(`${taskUrl} is not in the agent's cache`);
    return task;
  };

  beforeAll(async () => {
    stack = await LocalStack.start();
    [small, big] = await Promise.all([stack.putArtifact('s3ep/tool.tar', 5 * MiB + 17), stack.putArtifact('s3ep/model.bin', 64 * MiB)]);
    agent = await stack.startAgent('s3-agent');
    s3 = new S3Client({
      endpoint: agent.s3Url,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
  });
  afterAll(async () => {
    s3?.destroy();
    await stack?.stop();
  });

  it('GetObject returns the whole object with S3 headers', async () => {
    const answer = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: small.key }));
    const hash = createHash('sha256');
    for await (const chunk of answer.Body as AsyncIterable<Buffer>) hash.update(chunk);
    expect(hash.digest('hex')).toBe(small.sha256);
    expect(answer.$metadata.httpStatusCode).toBe(200);
    expect(answer.ContentLength).toBe(small.size);
    expect(answer.ContentType).toBe('application/octet-stream');
    expect(answer.AcceptRanges).toBe('bytes');
    const origin = await stack.s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: small.key }));
    expect(answer.ETag).toBe(origin.ETag);
  });

  it('GetObject with Range returns exactly those bytes (206)', async () => {
    const answer = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: small.key, Range: 'bytes=100-1048675' }));
    const body = Buffer.from(await answer.Body!.transformToByteArray());
    expect(answer.$metadata.httpStatusCode).toBe(206);
    expect(answer.ContentRange).toBe(`bytes 100-1048675/${small.size}`);
    expect(answer.ContentLength).toBe(1048576);
    expect(body.equals(await artifactBytes(small, 100, 1048676))).toBe(true);
    // A suffix range, as HTTP allows.
    const tail = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: small.key, Range: 'bytes=-17' }));
    expect(Buffer.from(await tail.Body!.transformToByteArray()).equals(await artifactBytes(small, small.size - 17, small.size))).toBe(true);
  });

  it('HeadObject gives size, ETag and Last-Modified, and honours If-None-Match', async () => {
    const head = await s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: small.key }));
    const origin = await stack.s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: small.key }));
    expect(head.ContentLength).toBe(small.size);
    expect(head.ETag).toBe(origin.ETag);
    expect(head.LastModified).toBeInstanceOf(Date);
    const again = await s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: small.key }));
    expect(again.LastModified?.getTime()).toBe(head.LastModified?.getTime());
    const notModified = await errorOf(s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: small.key, IfNoneMatch: head.ETag })));
    expect(notModified.$metadata.httpStatusCode).toBe(304);
  });

  it('HeadObject of an uncached object joins no swarm: no peer record, no back-to-source grant', async () => {
    const fresh = await stack.putArtifact('s3ep/looked-at.bin', 8 * MiB);
    const head = await s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: fresh.key }));
    expect(head.ContentLength).toBe(fresh.size);
    // A lookup leaves nothing behind on the agent: no task, no cache entry (and so no file handle).
    const { tasks } = (await (await fetch(`${agent.apiUrl}/v1/tasks`)).json()) as { tasks: { url: string; taskId: string }[] };
    expect(tasks.find((task) => task.url === fresh.url)).toBeUndefined();
    const cache = (await (await fetch(`${agent.apiUrl}/v1/cache`)).json()) as { tasks: { url: string }[] };
    expect(cache.tasks.map((task) => task.url)).not.toContain(fresh.url);
    const auth = { authorization: `Bearer ${stack.token}` };
    const swarm = (await (await fetch(`${stack.scheduler.url}/v1/tasks?url=${encodeURIComponent(fresh.url)}`, { headers: auth })).json()) as { task: { id: string } };
    const taskId = swarm.task.id;
    expect(taskId).toMatch(/^[0-9a-f]{64}$/);
    const view = (await (await fetch(`${stack.scheduler.url}/v1/tasks/${taskId}`, { headers: auth })).json()) as { peers: { peerId: string }[] };
    expect(view.peers.map((peer) => peer.peerId)).not.toContain(agent.name);
    // Another host pulling now is granted the origin at once (the looker holds no grant).
    const puller = { authorization: `Bearer ${await stack.agentToken('puller')}` };
    const announce = (event: string) =>
      fetch(`${stack.scheduler.url}/v1/announce`, {
        method: 'POST',
        headers: { ...puller, 'content-type': 'application/json' },
        body: JSON.stringify({ url: fresh.url, peerId: 'puller', addr: 'http://127.0.0.1:9', event }),
      });
    expect(((await (await announce('register')).json()) as { backToSource: boolean }).backToSource).toBe(true);
    expect((await announce('failed')).status).toBe(200); // gives the grant back
    // A GetObject after the HeadObject joins the swarm as usual and returns the object.
    const get = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: fresh.key }));
    const hash = createHash('sha256');
    for await (const chunk of get.Body as AsyncIterable<Buffer>) hash.update(chunk);
    expect(hash.digest('hex')).toBe(fresh.sha256);
    const after = (await (await fetch(`${stack.scheduler.url}/v1/tasks/${taskId}`, { headers: auth })).json()) as { peers: { peerId: string }[] };
    expect(after.peers.map((peer) => peer.peerId)).toContain(agent.name);
  });

  it('decodes keys the way the SDK encodes them (spaces, +, unicode)', async () => {
    const odd = await stack.putArtifact('s3ep/with space+plus é.bin', 1000);
    const answer = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: odd.key }));
    expect(createHash('sha256').update(await answer.Body!.transformToByteArray()).digest('hex')).toBe(odd.sha256);
  });

  it('answers a missing key with NoSuchKey (GetObject) and NotFound (HeadObject)', async () => {
    const get = await errorOf(s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: 'no/such/key.bin' })));
    expect(get.name).toBe('NoSuchKey');
    expect(get.$metadata.httpStatusCode).toBe(404);
    const head = await errorOf(s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: 'no/such/key.bin' })));
    expect(head.name).toBe('NotFound');
    expect(head.$metadata.httpStatusCode).toBe(404);
  });

  it('compares ETags as S3 does: with or without quotes, weak or strong; If-Range with another version sends the whole object', async () => {
    const url = `${agent.s3Url}/${stack.bucket}/${small.key}`;
    const { ETag } = await s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: small.key }));
    const bare = ETag!.replace(/"/g, '');
    const ifMatch = await fetch(url, { headers: { 'if-match': bare, range: 'bytes=0-9' } });
    expect(ifMatch.status).toBe(206);
    expect(Buffer.from(await ifMatch.arrayBuffer()).equals(await artifactBytes(small, 0, 10))).toBe(true);
    for (const tag of [bare, ETag!, `W/${ETag}`]) {
      const notModified = await fetch(url, { headers: { 'if-none-match': tag } });
      expect(notModified.status, tag).toBe(304);
    }
    expect((await fetch(url, { headers: { 'if-match': '"0123"' } })).status).toBe(412);
    const stale = await fetch(url, { headers: { 'if-range': '"0123456789abcdef0123456789abcdef"', range: 'bytes=0-9' } });
    expect(stale.status).toBe(200);
    expect(Number(stale.headers.get('content-length'))).toBe(small.size);
    await stale.body?.cancel();
    const current = await fetch(url, { headers: { 'if-range': ETag!, range: 'bytes=0-9' } });
    expect(current.status).toBe(206);
    expect((await current.arrayBuffer()).byteLength).toBe(10);
  });

  it('ignores query parameters it does not know, applies response-* overrides to HEAD too, and refuses a header injection with 400', async () => {
    const url = `${agent.s3Url}/${stack.bucket}/${small.key}`;
    const busted = await fetch(`${url}?foo=bar&_=1700000000`, { headers: { range: 'bytes=0-3' } });
    expect(busted.status).toBe(206);
    expect((await busted.arrayBuffer()).byteLength).toBe(4);
    const head = await fetch(`${url}?response-content-type=text%2Fplain&response-content-disposition=attachment`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/plain');
    expect(head.headers.get('content-disposition')).toBe('attachment');
    const injected = await fetch(`${url}?response-content-type=text%2Fplain%0D%0AX-Evil%3A%201`);
    expect(injected.status).toBe(400);
    expect(injected.headers.get('x-evil')).toBeNull();
    expect(await injected.text()).toContain('<Code>InvalidArgument</Code>');
    const acl = await fetch(`${url}?acl`);
    expect(acl.status).toBe(501);
    expect(await acl.text()).toContain('<Code>NotImplemented</Code>');
  });

  it('answers an unsatisfiable range with InvalidRange (416)', async () => {
    const error = await errorOf(s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: small.key, Range: `bytes=${small.size}-` })));
    expect(error.name).toBe('InvalidRange');
    expect(error.$metadata.httpStatusCode).toBe(416);
  });

  it('refuses what it does not implement in S3 XML, with 4xx/501 and never 500', async () => {
    const list = await errorOf(s3.send(new ListBucketsCommand({})));
    expect(list.name).toBe('NotImplemented');
    expect(list.$metadata.httpStatusCode).toBe(501);
    const put = await errorOf(s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: 'x.bin', Body: 'hello' })));
    expect(put.name).toBe('MethodNotAllowed');
    expect(put.$metadata.httpStatusCode).toBe(405);
    const bad = await errorOf(s3.send(new GetObjectCommand({ Bucket: 'Not_A_Bucket', Key: 'x.bin' })));
    expect(bad.name).toBe('InvalidBucketName');
    // The raw XML, as S3 writes it.
    const raw = await fetch(`${agent.s3Url}/${stack.bucket}/no/such/key.bin`);
    expect(raw.status).toBe(404);
    expect(raw.headers.get('content-type')).toBe('application/xml');
    expect(raw.headers.get('x-amz-request-id')).toMatch(/^[0-9A-F]{16}$/);
    expect(await raw.text()).toMatch(
      /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Error><Code>NoSuchKey<\/Code><Message>The specified key does not exist\.<\/Message><Key>no\/such\/key\.bin<\/Key><Resource>\/mayfly-demo\/no\/such\/key\.bin<\/Resource><RequestId>[0-9A-F]{16}<\/RequestId><\/Error>$/,
    );
  });

  it('a 1 MiB range of a fresh 64 MiB object costs S3 at most the 2 pieces it overlaps', async () => {
    const before = stack.origin.bytesOut();
    const start = 4 * MiB - 512 * 1024; // straddles the first piece boundary (pieces are 4 MiB)
    const answer = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: big.key, Range: `bytes=${start}-${start + MiB - 1}` }));
    const body = Buffer.from(await answer.Body!.transformToByteArray());
    expect(answer.$metadata.httpStatusCode).toBe(206);
    expect(body.equals(await artifactBytes(big, start, start + MiB))).toBe(true);
    expect(stack.origin.bytesOut() - before).toBeLessThanOrEqual(8 * MiB);
    expect((await cachedBytes(big.url)).completedBytes).toBeLessThanOrEqual(8 * MiB);
  });

  it('streams: the first bytes arrive before the rest of the object is in the cache', async () => {
    const answer = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: big.key }));
    const iterator = (answer.Body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    const cached = await cachedBytes(big.url);
    expect(cached.completedBytes).toBeLessThan(cached.size);
    const hash = createHash('sha256').update(first.value as Buffer);
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) hash.update(next.value);
    expect(hash.digest('hex')).toBe(big.sha256);
  });

  it.skipIf(!hasAwsCli)('aws s3 cp pulls through the endpoint unchanged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mayfly-awscli-'));
    const output = join(dir, 'model.bin');
    // Async: the stack's scheduler and S3 server run in this process and must keep answering.
    const result = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn('aws', ['s3', 'cp', big.url, output, '--endpoint-url', agent.s3Url, '--no-progress'], {
        env: { PATH: process.env.PATH, HOME: dir, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_DEFAULT_REGION: 'us-east-1' },
      });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('exit', (status) => resolve({ status, stderr }));
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(await sha256File(output)).toBe(big.sha256);
  });
});
