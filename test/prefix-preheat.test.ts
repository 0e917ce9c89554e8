import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStack } from '../local/local-stack.ts';
import { waitUntil } from './fixtures/wait-until.ts';

/**
 * Issue 18, part 5: `POST /v1/preheats {kind: "prefix"}` is one job whose
 * objects are its items (state, bytes), done by a real seed agent through
 * the scheduler's heartbeat, and listed as one row.
 */
describe('prefix preheat as one job', { timeout: 240_000 }, () => {
  let stack: LocalStack;
  const objects = new Map<string, number>([
    ['warm/m/config.json', 700],
    ['warm/m/tokenizer/vocab.txt', 3_000],
    ['warm/m/shards/a.bin', 600_000],
    ['warm/m/shards/b.bin', 1_300_000],
  ]);

  const manager = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.manager.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${stack.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  beforeAll(async () => {
    stack = await LocalStack.start();
    await Promise.all([...objects].map(([key, size]) => stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: randomBytes(size) }))));
    await stack.startAgent('seed-p', { MAYFLY_SEED: 'true' });
    await waitUntil(async () => (await manager('GET', '/v1/hosts')).body.hosts.some((h: any) => h.peerId === 'seed-p' && h.live), 60_000);
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('is one job whose items all reach done with their bytes, and one row in the list', async () => {
    const created = await manager('POST', '/v1/preheats', { url: `s3://${stack.bucket}/warm/m/`, kind: 'prefix' });
    expect(created.status).toBe(201);
    expect(created.body.jobs).toHaveLength(1);
    const total = [...objects.values()].reduce((sum, size) => sum + size, 0);
    const id = created.body.jobs[0].id as string;
    expect(created.body.jobs[0]).toMatchObject({ kind: 'prefix', url: `s3://${stack.bucket}/warm/m/`, itemCount: objects.size, bytes: total });

    let job: any;
    await waitUntil(async () => {
      job = (await manager('GET', `/v1/preheats/${id}`)).body;
      if (job.state === 'failed') throw new Error(`preheat failed: ${job.error}`);
      return job.state === 'done';
    }, 120_000);
    expect(job).toMatchObject({ kind: 'prefix', itemCount: objects.size, itemsDone: objects.size, itemsFailed: 0, bytes: total, bytesDone: total });
    const items = job.items as { id: string; url: string; bytes: number; state: string; taskId?: string; doneBy: Record<string, string> }[];
    expect(items.map((item) => [item.url, item.bytes]).sort()).toEqual([...objects].map(([key, size]) => [`s3://${stack.bucket}/${key}`, size]).sort());
    for (const item of items) {
      expect(item.state).toBe('done');
      expect(item.taskId).toMatch(/^[0-9a-f]{64}$/);
      expect(Object.values(item.doneBy)).toEqual(['seed-p']);
    }
    // One row in the list, not one per object.
    const listed = (await manager('GET', '/v1/preheats')).body.jobs as any[];
    expect(listed.filter((row) => row.url.startsWith(`s3://${stack.bucket}/warm/`)).map((row) => row.id)).toEqual([id]);
    expect(listed.find((row) => row.id === id)).not.toHaveProperty('items');
    // An item is readable on its own too (the id a seed was handed).
    expect((await manager('GET', `/v1/preheats/${items[0].id}`)).body).toMatchObject({ url: items[0].url, state: 'done' });
  });
});
