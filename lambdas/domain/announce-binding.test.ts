import { describe, expect, it } from 'vitest';
import { ForbiddenError } from '../../core/errors.ts';
import { addrBelongs, bindSelf, isPrivateAddress, normaliseHost, requireSelf } from './announce-binding.ts';
import type { AgentIdentity } from './identity.ts';

const agent: AgentIdentity = { kind: 'agent', peerId: 'a-1', cluster: 'blue', site: 'az1', seed: false, addrs: ['203.0.113.9'] };

describe('bindSelf', () => {
  it('takes every field from the identity when the body omits or repeats them', () => {
    expect(bindSelf(agent, { peerId: 'a-1' }, '10.0.0.1')).toEqual({ peerId: 'a-1', cluster: 'blue', site: 'az1', seed: false });
    expect(bindSelf(agent, { peerId: 'a-1', cluster: 'blue', site: 'az1', seed: false, addr: 'http://10.0.0.1:4000' }, '10.0.0.1').site).toBe('az1');
  });

  it('refuses a body that contradicts the identity', () => {
    for (const claims of [{ peerId: 'a-2' }, { peerId: 'a-1', cluster: 'red' }, { peerId: 'a-1', site: 'az2' }, { peerId: 'a-1', seed: true }]) {
      expect(() => bindSelf(agent, claims, '10.0.0.1')).toThrow(ForbiddenError);
    }
  });

  it('refuses an advertised address that is neither the source nor configured', () => {
    expect(() => bindSelf(agent, { peerId: 'a-1', addr: 'http://192.0.2.7:80' }, '10.0.0.1')).toThrow(/addr/);
    expect(() => bindSelf(agent, { peerId: 'a-1', addr: 'http://10.0.0.1:80' }, undefined)).toThrow(ForbiddenError);
  });

  it('takes the body site when the identity binds none (IAM without an EC2 lookup)', () => {
    const iam: AgentIdentity = { kind: 'agent', peerId: 'i-0abc', cluster: 'blue', seed: true, addrs: [], addrCheck: 'private' };
    expect(bindSelf(iam, { peerId: 'i-0abc', site: 'use1-az2', seed: true }, undefined)).toEqual({ peerId: 'i-0abc', cluster: 'blue', site: 'use1-az2', seed: true });
    expect(bindSelf(iam, { peerId: 'i-0abc' }, undefined).site).toBe('default');
  });
});

describe('addrBelongs', () => {
  it('accepts the source address, IPv4-mapped or bracketed, and configured NAT addresses', () => {
    expect(addrBelongs(agent, 'http://127.0.0.1:9', '::ffff:127.0.0.1')).toBe(true);
    expect(addrBelongs(agent, 'http://[::1]:9', '::1')).toBe(true);
    expect(addrBelongs(agent, 'http://203.0.113.9:9', '10.0.0.1')).toBe(true);
    expect(addrBelongs(agent, 'http://localhost:9', '127.0.0.1')).toBe(false);
  });

  it('checks IAM callers for a private address', () => {
    const iam: AgentIdentity = { kind: 'agent', peerId: 'i-1', cluster: 'c', seed: false, addrs: [], addrCheck: 'private' };
    expect(addrBelongs(iam, 'http://10.1.2.3:7000', '52.1.1.1')).toBe(true);
    expect(addrBelongs(iam, 'http://172.32.0.1:7000', undefined)).toBe(false);
    expect(addrBelongs(iam, 'http://8.8.8.8:7000', '8.8.8.8')).toBe(false);
  });

  it('refuses an IAM caller\'s private-looking address that peers would read as another (octal parts)', () => {
    const iam: AgentIdentity = { kind: 'agent', peerId: 'i-1', cluster: 'c', seed: false, addrs: [], addrCheck: 'private' };
    // What every agent's URL parser makes of them: 8.0.0.1, 122.16.0.1, 10.0.0.1 spelled another way.
    expect(new URL('http://010.0.0.1:7000').hostname).toBe('8.0.0.1');
    for (const addr of ['http://010.0.0.1:7000', 'http://0172.16.0.1:7000', 'http://0192.168.0.1:7000', 'http://10.00.0.1:7000']) {
      expect(addrBelongs(iam, addr, undefined)).toBe(false);
    }
    expect(addrBelongs(iam, 'http://10.0.0.1:7000', undefined)).toBe(true);
  });
});

describe('helpers', () => {
  it('normalises hosts and knows private ranges', () => {
    expect(normaliseHost('[FD00::1]')).toBe('fd00::1');
    expect(normaliseHost('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(['10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', 'fd12::1'].every(isPrivateAddress)).toBe(true);
    expect(['172.15.0.1', '192.169.0.1', '127.0.0.1', '10.0.0.256', 'example.com'].some(isPrivateAddress)).toBe(false);
  });

  it('requireSelf refuses another peer id', () => {
    expect(() => requireSelf(agent, 'a-1')).not.toThrow();
    expect(() => requireSelf(agent, 'victim')).toThrow(ForbiddenError);
  });
});
