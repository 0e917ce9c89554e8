import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStack } from '../local/local-stack.ts';
import { pullThrough, sha256File } from '../local/swarm-pull.ts';

const MiB = 1024 * 1024;

/**
 * Back-to-source through presigned URLs issued by the scheduler. The local S3
 * server does not verify signatures, so this shows which path the agent takes
 * (its own credentials are rejected by the server), not S3-side access control.
 */
describe('presigned back-to-source', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await LocalStack.start();
  });
  afterAll(async () => stack?.stop());

  it('hands a presigned GET only to the agent granted back-to-source', async () => {
    const artifact = await stack.putArtifact('presigned/a.bin', 5 * MiB);
    const announce = async (peerId: string) =>
      (
        await fetch(`${stack.scheduler.url}/v1/announce`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${await stack.agentToken(peerId)}` },
          body: JSON.stringify({ url: artifact.url, peerId, addr: 'http://127.0.0.1:9', event: 'register' }),
        })
      ).json();
    const granted = await announce('first');
    expect(granted.backToSource).toBe(true);
    expect(granted.origin.url).toContain('X-Amz-Signature=');
    expect(granted.origin.url).toContain('presigned/a.bin');
    expect(granted.origin.expiresAt).toBeGreaterThan(Date.now());
    const other = await announce('second');
    expect(other.backToSource).toBe(false);
    expect(other.origin).toBeUndefined();
  });

  it('lets an agent without S3 credentials of its own read the origin', async () => {
    const artifact = await stack.putArtifact('presigned/b.bin', 9 * MiB);
    const agent = await stack.startAgent('no-s3-creds', { AWS_ACCESS_KEY_ID: 'NOT-ALLOWED', AWS_SECRET_ACCESS_KEY: 'wrong' });
    const output = join(stack.root, 'presigned-b.bin');
    const result = await pullThrough(agent, artifact.url, output);
    expect(result.bytesFromOrigin).toBe(artifact.size);
    expect(await sha256File(output)).toBe(artifact.sha256);
  });

  it('with --origin-access direct uses the host credentials instead (and fails with bad ones)', async () => {
    const artifact = await stack.putArtifact('presigned/c.bin', 5 * MiB);
    const agent = await stack.startAgent('direct-bad-creds', {
      AWS_ACCESS_KEY_ID: 'NOT-ALLOWED',
      AWS_SECRET_ACCESS_KEY: 'wrong',
      MAYFLY_ORIGIN_ACCESS: 'direct',
    });
    const response = await fetch(`${agent.apiUrl}/v1/pulls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: artifact.url }),
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).not.toBe(500);
  });
});
