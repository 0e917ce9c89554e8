import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStack } from '../local/local-stack.ts';
import { createHash } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Artifact } from '../local/artifact.ts';
import { waitUntil } from './fixtures/wait-until.ts';

/** sha256 hex of each piece of the object, read straight from the S3-compatible server. */
async function pieceDigests(stack: LocalStack, artifact: Artifact, pieceLength: number): Promise<string[]> {
  const body = await stack.s3.send(new GetObjectCommand({ Bucket: artifact.bucket, Key: artifact.key }));
  const bytes = Buffer.from(await body.Body!.transformToByteArray());
  const digests: string[] = [];
  for (let at = 0; at < bytes.length; at += pieceLength) digests.push(createHash('sha256').update(bytes.subarray(at, at + pieceLength)).digest('hex'));
  return digests;
}

/** The scheduler's HTTP API, served by Node over the real stores (dynalite + s3rver). */
describe('scheduler API', () => {
  let stack: LocalStack;
  let artifact: Artifact;
  // Each agent calls with its own token (the body's peer id; 'x' for bodies that name none valid).
  const post = async (path: string, body: unknown, token?: string | null) => {
    const named = (body as { peerId?: unknown } | null)?.peerId;
    const bearer = token === undefined ? await stack.agentToken(typeof named === 'string' && /^[\w.-]{1,64}$/.test(named) ? named : 'x') : token;
    return fetch(`${stack.scheduler.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  };
  const announce = (peerId: string, extra: Record<string, unknown> = {}) =>
    post('/v1/announce', { url: artifact.url, peerId, addr: 'http://127.0.0.1:9', event: 'register', ...extra });

  beforeAll(async () => {
    stack = await LocalStack.start();
    artifact = await stack.putArtifact('api/object.bin', 9 * 1024 * 1024);
  });
  afterAll(async () => stack?.stop());

  it('answers the first agent with the task and a back-to-source grant', async () => {
    const response = await announce('first');
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.task).toMatchObject({ url: artifact.url, size: artifact.size, pieceLength: 4 * 1024 * 1024, pieceCount: 3 });
    expect(body.task.id).toMatch(/^[0-9a-f]{64}$/);
    expect(body.backToSource).toBe(true);
    expect(body.parents).toEqual([]);
    expect(body.announceIntervalMs).toBeGreaterThanOrEqual(1000);
  });

  it('gives later agents the first as parent and no grant', async () => {
    const body = await (await announce('second')).json();
    expect(body.backToSource).toBe(false);
    expect(body.parents.map((p: { peerId: string }) => p.peerId)).toContain('first');
  });

  it('refuses digests for an S3 task from every agent, and hands out the control plane\'s own', async () => {
    const { task } = await (await announce('first', { event: 'progress' })).json();
    expect(task.digestSource).toBe('origin');
    const digests = { '0': 'a'.repeat(64), '1': 'b'.repeat(64) };
    for (const peerId of ['second', 'first']) {
      const refused = await post(`/v1/tasks/${task.id}/digests`, { peerId, digests });
      expect(refused.status).toBe(403);
      expect((await refused.json()).message).toMatch(/control plane/);
    }
    // Nor may an agent publish in another's name (the lease holder's peer id).
    expect((await post(`/v1/tasks/${task.id}/digests`, { peerId: 'first', digests }, await stack.agentToken('second'))).status).toBe(403);
    const expected = await pieceDigests(stack, artifact, task.pieceLength);
    await waitUntil(async () => (await (await announce('second', { event: 'progress', taskId: task.id })).json()).digestCount === expected.length, 10_000);
    const answer = await (await announce('second', { event: 'progress', taskId: task.id })).json();
    expect(answer.digests).toEqual(Object.fromEntries(expected.map((digest, index) => [String(index), digest])));
    // An agent that already holds them is not sent them again.
    const quiet = await (await announce('second', { event: 'progress', taskId: task.id, digestsKnown: expected.length })).json();
    expect(quiet.digests).toBeUndefined();
  });

  it('says 404 naming the key for a missing object', async () => {
    const response = await post('/v1/announce', { url: `s3://${stack.bucket}/no/such.bin`, peerId: 'x', addr: 'http://127.0.0.1:9', event: 'register' });
    expect(response.status).toBe(404);
    expect((await response.json()).message).toContain('no/such.bin');
  });

  it('rejects malformed announces with 400 and a reason', async () => {
    const cases: Array<[unknown, RegExp]> = [
      ['{not json', /not valid JSON/],
      [{ url: artifact.url, peerId: 'x', addr: 'http://127.0.0.1:9', event: 'explode' }, /event/],
      [{ url: 'ftp://example.com/x', peerId: 'x', addr: 'http://127.0.0.1:9', event: 'register' }, /not an S3 or HTTP\(S\) URL/],
      [{ url: 'https://user:pw@example.com/x', peerId: 'x', addr: 'http://127.0.0.1:9', event: 'register' }, /credentials/],
      [{ url: artifact.url, peerId: 'x'.repeat(100), addr: 'http://127.0.0.1:9', event: 'register' }, /peerId/],
      [{ url: artifact.url, peerId: 'x', addr: 'http://127.0.0.1:9', event: 'register', completed: -5 }, /completed/],
      [[], /expected object/],
    ];
    for (const [body, reason] of cases) {
      const response = await post('/v1/announce', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await response.json()).message).toMatch(reason);
    }
  });

  it('refuses an HTTP(S) URL that no allowedOrigins entry admits (and does not fetch it)', async () => {
    const response = await post('/v1/announce', { url: 'http://example.com/x', peerId: 'x', addr: 'http://127.0.0.1:9', event: 'register' });
    expect(response.status).toBe(403);
    expect((await response.json()).message).toMatch(/outside this cluster's allowed origins/);
  });

  it('refuses calls without the token', async () => {
    expect((await post('/v1/announce', {}, null)).status).toBe(401);
    expect((await post('/v1/announce', {}, 'wrong')).status).toBe(401);
  });

  it('validates task ids in paths', async () => {
    const response = await fetch(`${stack.scheduler.url}/v1/tasks/..%2F..%2Fetc/digests`, { headers: { authorization: `Bearer ${stack.token}` } });
    expect(response.status).toBe(400);
  });

  it('lists the task in the manager', async () => {
    const response = await fetch(`${stack.manager.url}/v1/tasks`, { headers: { authorization: `Bearer ${stack.token}` } });
    const body = await response.json();
    expect(body.tasks.map((t: { url: string }) => t.url)).toContain(artifact.url);
  });
});
