import { describe, expect, it } from 'vitest';
import { hashToken, type TokenGrant } from '../domain/token.ts';
import { parseAgentRoles } from '../domain/iam-identity.ts';
import { IamIdentityResolver, TokenIdentityResolver } from './identity-resolvers.ts';
import { bindSelf } from '../domain/announce-binding.ts';
import { ForbiddenError } from '../../core/errors.ts';

const agent = { peerId: 'h-1', cluster: 'blue', site: 'az1', seed: false, addrs: [] };

function storeOf(grants: Record<string, TokenGrant>) {
  let lookups = 0;
  return { lookups: () => lookups, lookup: async (hash: string) => (lookups++, grants[hash]) };
}

describe('TokenIdentityResolver', () => {
  it('resolves the operator token, agent tokens to their binding, and nothing else', async () => {
    const store = storeOf({ [hashToken('mf_agent')]: { id: 'a', scope: 'agent', agent }, [hashToken('mf_op')]: { id: 'o', scope: 'operator' } });
    const resolver = new TokenIdentityResolver('operator-secret', store);
    expect(await resolver.resolve({ bearer: 'operator-secret' })).toEqual({ kind: 'operator' });
    expect(await resolver.resolve({ bearer: 'mf_agent' })).toEqual({ kind: 'agent', ...agent });
    expect(await resolver.resolve({ bearer: 'mf_op' })).toEqual({ kind: 'operator' });
    expect(await resolver.resolve({ bearer: 'mf_unknown' })).toBeUndefined();
    expect(await resolver.resolve({ bearer: 'operator-secreT' })).toBeUndefined();
    expect(await resolver.resolve({})).toBeUndefined();
  });

  it('trusts a positive lookup for a few seconds only', async () => {
    let now = 0;
    const store = storeOf({ [hashToken('mf_agent')]: { id: 'a', scope: 'agent', agent } });
    const resolver = new TokenIdentityResolver(undefined, store, () => now, 5_000);
    await resolver.resolve({ bearer: 'mf_agent' });
    await resolver.resolve({ bearer: 'mf_agent' });
    expect(store.lookups()).toBe(1);
    now = 6_000;
    await resolver.resolve({ bearer: 'mf_agent' });
    expect(store.lookups()).toBe(2);
  });
});

describe('IamIdentityResolver', () => {
  it('binds a mapped role session to an agent and refuses the rest', async () => {
    const resolver = new IamIdentityResolver(parseAgentRoles('{"fleet":"blue"}'));
    expect(await resolver.resolve({ iamArn: 'arn:aws:sts::123456789012:assumed-role/fleet/i-0abc' })).toMatchObject({ kind: 'agent', peerId: 'i-0abc', cluster: 'blue' });
    expect(await resolver.resolve({ iamArn: 'arn:aws:sts::123456789012:assumed-role/ops/alice' })).toBeUndefined();
    expect(await resolver.resolve({ bearer: 'x' })).toBeUndefined();
  });

  it('with host records, binds the site and the addresses to the instance or task, and refuses a caller with no running host', async () => {
    const roles = parseAgentRoles(JSON.stringify([{ role: 'fleet', cluster: 'blue' }, { role: 'tasks', cluster: 'blue', ecsCluster: 'arn:ecs-cluster' }]));
    const queries: unknown[] = [];
    const hosts = { lookup: async (query: { peerId: string }) => (queries.push(query), query.peerId === 'i-0abc' || query.peerId === 't1' ? { site: 'use1-az2', addrs: ['10.0.1.7'] } : undefined) };
    const resolver = new IamIdentityResolver(roles, hosts);
    const agent = await resolver.resolve({ iamArn: 'arn:aws:sts::123456789012:assumed-role/fleet/i-0abc' });
    expect(agent).toMatchObject({ kind: 'agent', peerId: 'i-0abc', site: 'use1-az2', addrs: ['10.0.1.7'], addrCheck: 'listed' });
    await resolver.resolve({ iamArn: 'arn:aws:sts::123456789012:assumed-role/tasks/t1' });
    expect(queries).toEqual([{ peerId: 'i-0abc' }, { peerId: 't1', ecsCluster: 'arn:ecs-cluster' }]);
    await expect(resolver.resolve({ iamArn: 'arn:aws:sts::123456789012:assumed-role/fleet/i-0gone' })).rejects.toBeInstanceOf(ForbiddenError);

    // The announce may repeat the record's site and address, never another zone or another private address.
    const self = agent as Parameters<typeof bindSelf>[0];
    expect(bindSelf(self, { peerId: 'i-0abc', site: 'use1-az2', addr: 'http://10.0.1.7:7402' }, '52.0.0.1')).toMatchObject({ site: 'use1-az2' });
    expect(bindSelf(self, { peerId: 'i-0abc' }, '52.0.0.1').site).toBe('use1-az2');
    expect(() => bindSelf(self, { peerId: 'i-0abc', site: 'use1-az9' }, '52.0.0.1')).toThrow(/site/);
    expect(() => bindSelf(self, { peerId: 'i-0abc', addr: 'http://10.0.1.99:7402' }, '52.0.0.1')).toThrow(/addr/);
    expect(() => bindSelf(self, { peerId: 'i-0abc', addr: 'http://52.0.0.1:7402' }, '52.0.0.1')).toThrow(/addr/);
  });
});
