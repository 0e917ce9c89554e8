import { describe, expect, it } from 'vitest';
import { RegistryUpstreams } from './registry-upstreams.ts';

describe('RegistryUpstreams', () => {
  it('maps containerd ns names and the default, and takes an unknown ns over HTTPS', () => {
    const upstreams = RegistryUpstreams.parse('registry.test=http://127.0.0.1:5000, _default=http://127.0.0.1:6000/');
    expect(upstreams.resolve('registry.test')).toBe('http://127.0.0.1:5000');
    expect(upstreams.resolve('REGISTRY.test')).toBe('http://127.0.0.1:5000');
    expect(upstreams.resolve(undefined)).toBe('http://127.0.0.1:6000');
    expect(upstreams.resolve('123456789012.dkr.ecr.us-east-1.amazonaws.com')).toBe('https://123456789012.dkr.ecr.us-east-1.amazonaws.com');
    expect(upstreams.resolve('evil/path')).toBeUndefined();
    expect(upstreams.resolve('a@b')).toBeUndefined();
  });

  it('has no default unless one is configured', () => {
    expect(RegistryUpstreams.parse(undefined).resolve('')).toBeUndefined();
  });

  it('refuses malformed entries with the expected form', () => {
    for (const bad of ['registry.test', '=http://x', 'a=ftp://x', 'a=http://x/path', 'a=http://user@x', 'a b=http://x']) {
      expect(() => RegistryUpstreams.parse(bad), bad).toThrow(/NAME=http\(s\):\/\/host/);
    }
  });
});
