import { describe, expect, it } from 'vitest';
import { ecrRegionOf, parseRegistryCredentials } from './registry-credentials.ts';

describe('registry credentials', () => {
  it('reads host=user:password entries as Basic authorizations (passwords may hold = and :)', () => {
    const map = parseRegistryCredentials('127.0.0.1:5000=AWS:tok=en:x, Registry.Test=u:p');
    expect(map.get('127.0.0.1:5000')).toBe(`Basic ${Buffer.from('AWS:tok=en:x').toString('base64')}`);
    expect(map.get('registry.test')).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(parseRegistryCredentials(undefined).size).toBe(0);
  });

  it('refuses malformed entries without echoing the password', () => {
    expect(() => parseRegistryCredentials('registry.test=secretonly')).toThrow(/entry 1 is not/);
    expect(() => parseRegistryCredentials('a=u:p,=u:secret')).toThrow(/entry 2/);
    try {
      parseRegistryCredentials('bad host=u:hunter2');
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });

  it('knows ECR hosts and their region', () => {
    expect(ecrRegionOf('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toBe('eu-west-1');
    expect(ecrRegionOf('registry.test')).toBeUndefined();
  });
});
