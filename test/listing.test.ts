import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStack } from '../local/local-stack.ts';

/**
 * Issue 18, part 1: the scheduler lists a prefix with its own role (agents hold no S3
 * list permission), page by page, only inside the caller's allowlist. Real scheduler
 * and manager, the S3-compatible server, agent tokens from the manager.
 */
describe('listing through the control plane', () => {
  let stack: LocalStack;
  const manyKeys = Array.from({ length: 1_005 }, (_, i) => `many/part-${String(i).padStart(5, '0')}.bin`);

  beforeAll(async () => {
    stack = await LocalStack.start({ schedulerSettings: { allowedOrigins: ['mayfly-demo/many/', 'mayfly-demo/tree/'] } });
    const put = (key: string, body: string) => stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body }));
    for (let i = 0; i < manyKeys.length; i += 25) await Promise.all(manyKeys.slice(i, i + 25).map((key, j) => put(key, `object ${i + j}`)));
    await Promise.all([put('tree/a/one.txt', 'one'), put('tree/a/b/two.txt', 'two!'), put('tree/top.txt', 'top'), put('secret/x.txt', 'no')]);
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const list = async (query: Record<string, string>, peerId = 'lister') => {
    const response = await fetch(`${stack.scheduler.url}/v1/listings?${new URLSearchParams(query)}`, {
      headers: { authorization: `Bearer ${await stack.agentToken(peerId)}` },
    });
    const body = (await response.json()) as Record<string, any>;
    if (response.status >= 500) console.log(body);
    return { status: response.status, body };
  };

  it('answers keys, sizes, ETags and LastModified as S3 has them, paginated past 1,000 keys', async () => {
    const first = await list({ bucket: stack.bucket, prefix: 'many/' });
    expect(first.status).toBe(200);
    expect(first.body.objects).toHaveLength(1_000);
    expect(first.body.truncated).toBe(true);
    expect(typeof first.body.nextContinuationToken).toBe('string');
    const second = await list({ bucket: stack.bucket, prefix: 'many/', continuationToken: first.body.nextContinuationToken });
    expect(second.status).toBe(200);
    expect(second.body.truncated).toBe(false);
    const keys = [...first.body.objects, ...second.body.objects].map((object: { key: string }) => object.key);
    expect(keys).toEqual(manyKeys);
    const origin = await stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: 'many/part-00000.bin', Body: 'object 0' }));
    const zero = first.body.objects[0];
    expect(zero).toMatchObject({ key: 'many/part-00000.bin', size: 'object 0'.length, etag: origin.ETag });
    expect(Number.isNaN(Date.parse(zero.lastModified))).toBe(false);
  });

  it('rolls up folders with a delimiter and honours start-after and max-keys', async () => {
    const folders = await list({ bucket: stack.bucket, prefix: 'tree/', delimiter: '/' });
    expect(folders.status).toBe(200);
    expect(folders.body.objects.map((object: { key: string }) => object.key)).toEqual(['tree/top.txt']);
    expect(folders.body.commonPrefixes).toEqual(['tree/a/']);
    const after = await list({ bucket: stack.bucket, prefix: 'tree/', startAfter: 'tree/a/b/two.txt', maxKeys: '1' });
    expect(after.body.objects.map((object: { key: string }) => object.key)).toEqual(['tree/a/one.txt']);
    expect(after.body.truncated).toBe(true);
  });

  it('refuses a listing outside the allowlist (403 with a reason), without credentials (401) and bad queries (400)', async () => {
    const outside = await list({ bucket: stack.bucket, prefix: 'secret/' });
    expect(outside.status).toBe(403);
    expect(outside.body.message).toMatch(/outside the cluster's allowed origins/);
    // A parent of an allowed prefix could name keys outside it: refused, not narrowed.
    expect((await list({ bucket: stack.bucket, prefix: '' })).status).toBe(403);
    expect((await list({ bucket: 'mayfly-demo-other', prefix: 'many/' })).status).toBe(403);
    expect((await fetch(`${stack.scheduler.url}/v1/listings?bucket=${stack.bucket}&prefix=many/`)).status).toBe(401);
    expect((await list({ bucket: 'Not_A_Bucket' })).status).toBe(400);
    expect((await list({ bucket: stack.bucket, prefix: 'many/', maxKeys: '1001' })).status).toBe(400);
    expect((await list({ bucket: stack.bucket, prefix: 'many/', cluster: 'other' })).status).toBe(403);
  });
});
