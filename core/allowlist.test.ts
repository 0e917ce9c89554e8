import { describe, expect, it } from 'vitest';
import { originAllowed, prefixListingAllowed } from './allowlist.ts';
import { parseOriginUrl } from './origin-url.ts';

const at = (url: string) => parseOriginUrl(url);

describe('originAllowed', () => {
  it('allows every S3 bucket when there is no list, and no HTTP(S) URL', () => {
    expect(originAllowed(at('s3://any-bucket/any/key'), undefined)).toBe(true);
    expect(originAllowed(at('https://releases.example.com/tool.tgz'), undefined)).toBe(false);
  });

  it('holds S3 URLs to bucket/prefix entries once a list exists, even an empty one', () => {
    const entries = ['models-bucket/llm/'];
    expect(originAllowed(at('s3://models-bucket/llm/a.bin'), entries)).toBe(true);
    expect(originAllowed(at('s3://models-bucket/llm/a.bin?versionId=v1'), entries)).toBe(true);
    expect(originAllowed(at('s3://models-bucket/other/a.bin'), entries)).toBe(false);
    expect(originAllowed(at('s3://models-bucket/llm/a.bin'), [])).toBe(false);
  });

  it('compares decoded keys, as they are spelled in entries', () => {
    expect(originAllowed(at('s3://models-bucket/my%20models/a.bin'), ['models-bucket/my models/'])).toBe(true);
  });

  it('admits HTTP(S) URLs only under an entry of the same scheme, host and port', () => {
    const entries = ['models-bucket', 'https://releases.example.com/tools/'];
    expect(originAllowed(at('https://releases.example.com/tools/a.tgz'), entries)).toBe(true);
    expect(originAllowed(at('http://releases.example.com/tools/a.tgz'), entries)).toBe(false);
    expect(originAllowed(at('https://releases.example.com.evil.example/tools/a.tgz'), entries)).toBe(false);
    expect(originAllowed(at('s3://models-bucket/x'), entries)).toBe(true);
  });

  it('matches a bucket entry to that bucket exactly, and a prefix entry byte for byte within its bucket', () => {
    expect(originAllowed(at('s3://mayfly-demo/x'), ['mayfly-demo'])).toBe(true);
    expect(originAllowed(at('s3://mayfly-demo-private/x'), ['mayfly-demo'])).toBe(false);
    expect(originAllowed(at('s3://mayfly-demo-private/x'), ['mayfly-demo/'])).toBe(false);
    expect(originAllowed(at('s3://mayfly-demo/public/a.bin'), ['mayfly-demo/public/'])).toBe(true);
    expect(originAllowed(at('s3://mayfly-demo/publicity/a.bin'), ['mayfly-demo/public/'])).toBe(false);
    expect(originAllowed(at('s3://mayfly-demo/Public/a.bin'), ['mayfly-demo/public/'])).toBe(false);
    expect(originAllowed(at('s3://mayfly-demo/publicity/a.bin'), ['mayfly-demo/public'])).toBe(true);
  });

  it('never sees a key an HTTP stack would rewrite: parsing refuses dot and empty segments', () => {
    for (const url of [
      's3://mayfly-demo/public/../models/a.bin',
      's3://mayfly-demo/public/%2e%2e/models/a.bin',
      's3://mayfly-demo/public/%2E%2E%2Fmodels/a.bin',
      's3://mayfly-demo/public/./a.bin',
      's3://mayfly-demo/public//a.bin',
      's3://mayfly-demo//public/a.bin',
      's3://mayfly-demo/public/..',
      's3://mayfly-demo/..',
    ]) {
      expect(() => at(url), url).toThrow(/segment/);
    }
    expect(at('s3://mayfly-demo/public/a..b/.hidden/folder/')).toMatchObject({ key: 'public/a..b/.hidden/folder/' });
  });
});

describe('prefixListingAllowed', () => {
  it('admits every prefix without a list, and a bucket entry admits that bucket only', () => {
    expect(prefixListingAllowed('any-bucket', '', undefined)).toBe(true);
    expect(prefixListingAllowed('models', '', ['models'])).toBe(true);
    expect(prefixListingAllowed('models-private', '', ['models'])).toBe(false);
  });

  it('admits a prefix only when every key under it falls under an entry', () => {
    const entries = ['models/llm/', 'https://releases.example.com/'];
    expect(prefixListingAllowed('models', 'llm/', entries)).toBe(true);
    expect(prefixListingAllowed('models', 'llm/7b/', entries)).toBe(true);
    expect(prefixListingAllowed('models', 'll', entries)).toBe(false);
    expect(prefixListingAllowed('models', '', entries)).toBe(false);
    expect(prefixListingAllowed('models', 'other/', entries)).toBe(false);
    expect(prefixListingAllowed('models', 'llm/', [])).toBe(false);
  });
});
