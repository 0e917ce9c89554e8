import { describe, expect, it } from 'vitest';
import { canonicalS3Url, parseS3Url } from './origin-url.ts';
import { isHexId } from './ids.ts';
import { computeTaskId, fnv1a32 } from './task-id.ts';

describe('task ids', () => {
  it('is the sha256 of the canonical URL and the ETag', () => {
    const id = computeTaskId('s3://bucket/key', '"etag-1"');
    expect(isHexId(id)).toBe(true);
    expect(id).toBe(computeTaskId('s3://bucket/key', '"etag-1"'));
  });

  it('changes when the object changes', () => {
    expect(computeTaskId('s3://bucket/key', '"etag-1"')).not.toBe(computeTaskId('s3://bucket/key', '"etag-2"'));
    expect(computeTaskId('s3://bucket/a', '"e"')).not.toBe(computeTaskId('s3://bucket/b', '"e"'));
  });

  it('needs a version tag', () => {
    expect(() => computeTaskId('s3://bucket/key', '')).toThrow(/ETag/);
  });

  it('spreads ids with a stable hash', () => {
    expect(fnv1a32('agent-1')).toBe(fnv1a32('agent-1'));
    expect(fnv1a32('agent-1')).not.toBe(fnv1a32('agent-2'));
  });
});

describe('S3 URLs', () => {
  it('parses bucket, key and versionId', () => {
    expect(parseS3Url('s3://my-bucket/path/to/file.bin')).toEqual({ kind: 's3', bucket: 'my-bucket', key: 'path/to/file.bin' });
    expect(parseS3Url('s3://my-bucket/k?versionId=abc.1')).toEqual({ kind: 's3', bucket: 'my-bucket', key: 'k', versionId: 'abc.1' });
    expect(parseS3Url('s3://my-bucket/a%20b')).toMatchObject({ key: 'a b' });
  });

  it('canonicalises spelling so equal objects get equal task ids', () => {
    expect(canonicalS3Url(parseS3Url('s3://b-1/a%20b/c'))).toBe(canonicalS3Url(parseS3Url('s3://b-1/a b/c')));
    expect(canonicalS3Url(parseS3Url('s3://b-1/k?versionId=v1'))).toBe('s3://b-1/k?versionId=v1');
  });

  it('rejects what is not an S3 object URL', () => {
    for (const bad of ['', 'http://x/y', 's3://bucket', 's3://bucket/', 's3://B/k', 's3://ab/k', 's3://bucket/k?acl=1', 's3://bucket/%zz']) {
      expect(() => parseS3Url(bad), bad).toThrow();
    }
    expect(() => parseS3Url(`s3://bucket/${'k'.repeat(3000)}`)).toThrow(/longer/);
  });
});

describe('S3 URLs as users type them', () => {
  it('takes everything after the bucket as the key, literally', async () => {
    const { parseLiteralS3Url, parseUserUrl } = await import('./origin-url.ts');
    expect(parseLiteralS3Url('s3://b-1/keys/literal%20pct.bin')).toEqual({ kind: 's3', bucket: 'b-1', key: 'keys/literal%20pct.bin' });
    expect(parseLiteralS3Url('s3://b-1/a#b?versionId=x')).toEqual({ kind: 's3', bucket: 'b-1', key: 'a#b?versionId=x' });
    expect(parseLiteralS3Url('s3://b-1/k', 'v1')).toEqual({ kind: 's3', bucket: 'b-1', key: 'k', versionId: 'v1' });
    expect(parseUserUrl('s3://b-1/x y')).toMatchObject({ key: 'x y' });
    expect(() => parseUserUrl('https://example.com/a', 'v1')).toThrow(/versionId/);
    expect(() => parseLiteralS3Url('s3://b-1/a/../b')).toThrow(/segment/);
    expect(() => parseLiteralS3Url('s3://b-1/')).toThrow(/S3 URL/);
  });

  it('encodes the key once in the canonical URL, reversibly', async () => {
    const { parseLiteralS3Url } = await import('./origin-url.ts');
    for (const key of ['keys/literal%20pct.bin', 'keys/literal pct.bin', 'a#b', 'q?versionId=1', '100%', 'ün/i.bin']) {
      const location = parseLiteralS3Url(`s3://b-1/${key}`);
      expect(parseS3Url(canonicalS3Url(location))).toEqual(location);
    }
    expect(canonicalS3Url(parseLiteralS3Url('s3://b-1/keys/literal%20pct.bin'))).toBe('s3://b-1/keys/literal%2520pct.bin');
    expect(canonicalS3Url(parseLiteralS3Url('s3://b-1/keys/literal pct.bin'))).toBe('s3://b-1/keys/literal%20pct.bin');
  });
});
