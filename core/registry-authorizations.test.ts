import { describe, expect, it } from 'vitest';
import { RegistryAuthorizations, type SignableRequest } from './registry-authorizations.ts';

const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

describe('RegistryAuthorizations', () => {
  it('configured credentials first; ECR hosts get a GetAuthorizationToken token, cached until shortly before it expires', async () => {
    let now = 1_000_000;
    const calls: SignableRequest[] = [];
    const fetched: string[] = [];
    const auth = new RegistryAuthorizations({
      configured: new Map([['registry.test', 'Basic abc']]),
      signEcr: async (region, request) => {
        calls.push(request);
        expect(region).toBe('eu-west-1');
        return { ...request.headers, authorization: 'AWS4-HMAC-SHA256 …' };
      },
      fetch: (async (url: string) => {
        fetched.push(url);
        return new Response(JSON.stringify({ authorizationData: [{ authorizationToken: 'QVdTOnRvaw==', expiresAt: now / 1000 + 3600 }] }));
      }) as typeof fetch,
      now: () => now,
    });
    expect(await auth.for('Registry.Test')).toBe('Basic abc');
    expect(await auth.for('other.test')).toBeUndefined();
    expect(await auth.for(ECR)).toBe('Basic QVdTOnRvaw==');
    expect(await auth.for(ECR)).toBe('Basic QVdTOnRvaw==');
    expect(fetched).toEqual(['https://api.ecr.eu-west-1.amazonaws.com/']);
    expect(calls[0].headers['x-amz-target']).toBe('AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken');
    now += 50 * 60_000;
    await auth.for(ECR);
    expect(fetched).toHaveLength(2);
  });

  it('a refused GetAuthorizationToken is a ForbiddenError', async () => {
    const auth = new RegistryAuthorizations({
      configured: new Map(),
      signEcr: async (_region, request) => ({ ...request.headers }),
      fetch: (async () => new Response('{"__type":"AccessDeniedException"}', { status: 400 })) as typeof fetch,
    });
    await expect(auth.for(ECR)).rejects.toMatchObject({ code: 'Forbidden' });
  });
});
