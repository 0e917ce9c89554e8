import { describe, expect, it } from 'vitest';
import { formatImageRef, parseImageRef } from './image-ref.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('parseImageRef', () => {
  it('reads registry, repository and tag or digest', () => {
    expect(parseImageRef('123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1')).toEqual({
      registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', repository: 'team/app', reference: 'v1',
    });
    expect(parseImageRef(`127.0.0.1:5000/demo/app@${DIGEST}`)).toEqual({ registry: '127.0.0.1:5000', repository: 'demo/app', reference: DIGEST });
    expect(formatImageRef(parseImageRef(`Registry.Test/a@${DIGEST}`))).toBe(`registry.test/a@${DIGEST}`);
    expect(formatImageRef(parseImageRef('registry.test/a/b:latest'))).toBe('registry.test/a/b:latest');
  });

  it('refuses what names no image with a reason', () => {
    expect(() => parseImageRef('app:v1')).toThrow(/no registry host/);
    expect(() => parseImageRef('registry.test/app')).toThrow(/no tag or digest/);
    expect(() => parseImageRef('registry.test/App:v1')).toThrow(/malformed repository/);
    expect(() => parseImageRef('registry.test/app@sha256:12')).toThrow(/digest/);
    expect(() => parseImageRef('registry.test/app:-bad')).toThrow(/malformed tag/);
    expect(() => parseImageRef('bad_host/app:v1')).toThrow(/registry host/);
    expect(() => parseImageRef('registry.test/../x:v1')).toThrow(/repository/);
  });
});
