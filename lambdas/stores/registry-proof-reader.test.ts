import { describe, expect, it } from 'vitest';
import { ForbiddenError } from '../../core/errors.ts';
import { HttpRegistryProofReader, presignedExpiry } from './registry-proof-reader.ts';

const answer = (status: number, headers: Record<string, string>) => async () => new Response(status === 206 ? 'x' : null, { status, headers });

describe('HttpRegistryProofReader', () => {
  it('reads size and ETag from a one-byte ranged GET, and asks once per proof within the cache time', async () => {
    let calls = 0;
    let range: string | null = null;
    const reader = new HttpRegistryProofReader({
      fetch: (async (_url: string, init: RequestInit) => {
        calls++;
        range = new Headers(init.headers).get('range');
        return answer(206, { 'content-range': 'bytes 0-0/67120658', etag: '"abc"' })();
      }) as unknown as typeof fetch,
    });
    expect(await reader.read('http://storage/x?sig=1')).toEqual({ size: 67120658, etag: '"abc"' });
    await reader.read('http://storage/x?sig=1');
    expect(calls).toBe(1);
    expect(range).toBe('bytes=0-0');
  });

  it('refuses a proof the storage refuses, and one without a strong ETag', async () => {
    const refused = new HttpRegistryProofReader({ fetch: answer(403, {}) as unknown as typeof fetch });
    await expect(refused.read('http://storage/x')).rejects.toBeInstanceOf(ForbiddenError);
    const weak = new HttpRegistryProofReader({ fetch: answer(206, { 'content-range': 'bytes 0-0/10', etag: 'W/"a"' }) as unknown as typeof fetch });
    await expect(weak.read('http://storage/x')).rejects.toThrow(/strong ETag/);
  });

  it('remembers a checked proof no longer than it is valid: once expired, the storage is asked again', async () => {
    let calls = 0;
    let now = Date.UTC(2026, 0, 2, 3, 4, 5);
    const reader = new HttpRegistryProofReader({
      now: () => now,
      fetch: (async () => {
        calls++;
        return answer(calls === 1 ? 206 : 403, { 'content-range': 'bytes 0-0/10', etag: '"abc"' })();
      }) as unknown as typeof fetch,
    });
    // Presigned at 03:04:00 for 20 s: checked (valid) at 03:04:05, expired at 03:04:20.
    const proof = 'http://storage/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260102T030400Z&X-Amz-Expires=20&X-Amz-Signature=ab';
    expect(await reader.read(proof)).toEqual({ size: 10, etag: '"abc"' });
    now += 10_000;
    await reader.read(proof);
    expect(calls).toBe(1);
    now += 6_000;
    await expect(reader.read(proof)).rejects.toBeInstanceOf(ForbiddenError);
    expect(calls).toBe(2);
  });

  it('reads a presigned URL\'s expiry (SigV4, SigV2), or none', () => {
    expect(presignedExpiry('http://s/x?X-Amz-Date=20260102T030400Z&X-Amz-Expires=1200')).toBe(Date.UTC(2026, 0, 2, 3, 24, 0));
    expect(presignedExpiry('http://s/x?AWSAccessKeyId=a&Expires=1767323040&Signature=s')).toBe(1767323040_000);
    expect(presignedExpiry('http://s/x?sig=1')).toBeUndefined();
    expect(presignedExpiry('not a url')).toBeUndefined();
  });
});
