import { describe, expect, it } from 'vitest';
import { agentOfArn, parseAgentRoles, parseAssumedRoleArn } from './iam-identity.ts';

const roles = parseAgentRoles('{"mayfly-agents":"blue","mayfly-seeds":{"cluster":"blue","seed":true}}');

describe('IAM identity', () => {
  it('parses assumed-role ARNs and nothing else', () => {
    expect(parseAssumedRoleArn('arn:aws:sts::123456789012:assumed-role/mayfly-agents/i-0abc123')).toEqual({ account: '123456789012', role: 'mayfly-agents', session: 'i-0abc123' });
    expect(parseAssumedRoleArn('arn:aws:iam::123456789012:user/alice')).toBeUndefined();
    expect(parseAssumedRoleArn('arn:aws:sts::123456789012:assumed-role/r/s/extra')).toBeUndefined();
  });

  it('binds peer id to the session name and cluster and seed to the role', () => {
    expect(agentOfArn('arn:aws:sts::123456789012:assumed-role/mayfly-agents/i-0abc', roles)).toEqual({
      kind: 'agent', peerId: 'i-0abc', cluster: 'blue', seed: false, addrs: [], addrCheck: 'private',
    });
    expect(agentOfArn('arn:aws:sts::123456789012:assumed-role/mayfly-seeds/0f1e2d3c4b5a', roles)?.seed).toBe(true);
  });

  it('refuses a role outside the mapping and a session name that is no peer id', () => {
    expect(agentOfArn('arn:aws:sts::123456789012:assumed-role/admin/i-0abc', roles)).toBeUndefined();
    expect(agentOfArn('arn:aws:sts::123456789012:assumed-role/mayfly-agents/alice@example.com', roles)).toBeUndefined();
  });

  it('rejects a mapping it cannot read', () => {
    expect(parseAgentRoles(undefined).size).toBe(0);
    expect(() => parseAgentRoles('["x"]')).toThrow();
    expect(() => parseAgentRoles('{"r":{"cluster":"bad name"}}')).toThrow();
    expect(() => parseAgentRoles('[{"cluster":"blue"}]')).toThrow();
  });

  it('reads the list the CDK writes', () => {
    const listed = parseAgentRoles('[{"role":"fleet-role","cluster":"default","seed":false},{"role":"seed-role","cluster":"default","seed":true}]');
    expect(listed.get('fleet-role')).toEqual({ cluster: 'default', seed: false });
    expect(listed.get('seed-role')).toEqual({ cluster: 'default', seed: true });
  });
});
