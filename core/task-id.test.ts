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
