import { describe, expect, it } from 'vitest';
import { ForbiddenError } from '../../core/errors.ts';
import { HttpRegistryProofReader } from './registry-proof-reader.ts';

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
});
