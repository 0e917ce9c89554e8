import { describe, expect, it } from 'vitest';
import { httpHeadOf, httpVersionCheck, httpVersionTag, strongEtag } from './http-version.ts';
import { canonicalOriginUrl, originAllowedBy, parseOriginUrl } from './origin-url.ts';
import { computeTaskId } from './task-id.ts';

describe('origin URLs', () => {
  it('delegates s3:// to the S3 parser', () => {
    expect(parseOriginUrl('s3://my-bucket/a%20b')).toEqual({ kind: 's3', bucket: 'my-bucket', key: 'a b' });
    expect(canonicalOriginUrl(parseOriginUrl('s3://b-1/a b/c'))).toBe('s3://b-1/a%20b/c');
    expect(() => parseOriginUrl('s3://B/k')).toThrow(/bucket/);
  });

  it('accepts http and https URLs and canonicalises their spelling', () => {
    expect(parseOriginUrl('https://example.com/a/b.tar?x=1')).toEqual({ kind: 'http', url: 'https://example.com/a/b.tar?x=1' });
    expect(parseOriginUrl('HTTP://Example.COM:80/a')).toEqual({ kind: 'http', url: 'http://example.com/a' });
    expect(parseOriginUrl('https://example.com:443/a').kind).toBe('http');
    expect(canonicalOriginUrl(parseOriginUrl('https://example.com:443/a'))).toBe('https://example.com/a');
    expect(canonicalOriginUrl(parseOriginUrl('http://example.com'))).toBe('http://example.com/');
    expect(canonicalOriginUrl(parseOriginUrl('http://127.0.0.1:8080/x/../y'))).toBe('http://127.0.0.1:8080/y');
    expect(canonicalOriginUrl(parseOriginUrl('http://[::1]:9/a'))).toBe('http://[::1]:9/a');
  });

  it('rejects credentials, fragments, other schemes and oversized URLs with a reason', () => {
    expect(() => parseOriginUrl('https://user:pw@example.com/a')).toThrow(/credentials/);
    expect(() => parseOriginUrl('https://user@example.com/a')).toThrow(/credentials/);
    expect(() => parseOriginUrl('https://@example.com/a')).toThrow(/credentials/);
    expect(() => parseOriginUrl('https://example.com/a#part')).toThrow(/fragment/);
    expect(() => parseOriginUrl('https://example.com/a b')).toThrow(/control|spaces/);
    expect(() => parseOriginUrl('https://example.com/a\nb')).toThrow(/control|spaces/);
    expect(() => parseOriginUrl('https://exa mple.com/')).toThrow();
    expect(() => parseOriginUrl('http://')).toThrow();
    expect(() => parseOriginUrl(`https://example.com/${'a'.repeat(3000)}`)).toThrow(/longer/);
    for (const bad of ['', 'ftp://example.com/a', 'file:///etc/passwd', 'gopher://x/y', 'example.com/a', 'javascript:alert(1)', 'https:/example.com/a']) {
      expect(() => parseOriginUrl(bad), bad).toThrow(/URL/);
    }
    expect(() => parseOriginUrl('ftp://example.com/a')).toThrow(/not an S3 or HTTP\(S\) URL/);
  });

  it('gives HTTP and S3 tasks distinct ids', () => {
    const a = computeTaskId(canonicalOriginUrl(parseOriginUrl('https://example.com/x')), '"e"');
    const b = computeTaskId(canonicalOriginUrl(parseOriginUrl('HTTPS://EXAMPLE.com:443/x')), '"e"');
    expect(a).toBe(b);
    expect(a).not.toBe(computeTaskId(canonicalOriginUrl(parseOriginUrl('http://example.com/x')), '"e"'));
  });
});

describe('origin allowlist entries', () => {
  const http = (url: string) => parseOriginUrl(url);

  it('matches HTTP URLs by scheme, host, port and path prefix', () => {
    expect(originAllowedBy('https://example.com/releases/', http('https://example.com/releases/v1.tar'))).toBe(true);
    expect(originAllowedBy('https://example.com', http('https://example.com/anything'))).toBe(true);
    expect(originAllowedBy('https://Example.com:443/', http('https://example.com/anything'))).toBe(true);
    expect(originAllowedBy('https://example.com/releases/', http('https://example.com/other'))).toBe(false);
    expect(originAllowedBy('https://example.com/', http('http://example.com/a'))).toBe(false);
    expect(originAllowedBy('https://example.com/', http('https://example.com:8443/a'))).toBe(false);
    expect(originAllowedBy('https://example.com', http('https://example.com.evil.test/a'))).toBe(false);
    expect(originAllowedBy('http://127.0.0.1:1', http('http://127.0.0.1:12/a'))).toBe(false);
    expect(originAllowedBy('mayfly-demo/', http('https://example.com/mayfly-demo/a'))).toBe(false);
    expect(originAllowedBy('not a url', http('https://example.com/a'))).toBe(false);
    expect(originAllowedBy('https://example.com/releases/', http('https://example.com/releases/../secret'))).toBe(false);
    expect(originAllowedBy('https://example.com/releases/', http('https://example.com/releases/..%2Fsecret'))).toBe(false);
    expect(originAllowedBy('https://example.com/releases/', http('https://example.com/releases/%2E%2E/secret'))).toBe(false);
    expect(originAllowedBy('https://example.com/', http('https://example.com/a%2Fb'))).toBe(true);
  });

  it('keeps bucket/prefix entries for S3 and never lets an HTTP entry admit S3', () => {
    expect(originAllowedBy('bucket/pre', parseOriginUrl('s3://bucket/prefix/a'))).toBe(true);
    expect(originAllowedBy('bucket/x', parseOriginUrl('s3://bucket/prefix/a'))).toBe(false);
    expect(originAllowedBy('https://bucket/', parseOriginUrl('s3://bucket/prefix/a'))).toBe(false);
  });
});

describe('HTTP version tags', () => {
  it('prefers a strong ETag', () => {
    expect(httpVersionTag({ etag: '"abc"', lastModified: 'Wed, 21 Oct 2015 07:28:00 GMT' }, 10, 'u')).toBe('"abc"');
    expect(httpVersionCheck('"abc"')).toEqual({ etag: '"abc"' });
  });

  it('treats a weak ETag as none and falls back to Last-Modified and length', () => {
    expect(strongEtag('W/"abc"')).toBeUndefined();
    const tag = httpVersionTag({ etag: 'W/"abc"', lastModified: 'Wed, 21 Oct 2015 07:28:00 GMT' }, 1234, 'u');
    expect(tag).toBe('last-modified:Wed, 21 Oct 2015 07:28:00 GMT:1234');
    expect(httpVersionCheck(tag)).toEqual({ lastModified: 'Wed, 21 Oct 2015 07:28:00 GMT', size: 1234 });
  });

  it('maps HEAD answers to size and tag, or to typed errors', () => {
    const head = (status: number, headers: Record<string, string>) => () => httpHeadOf('u', status, (name) => headers[name] ?? null);
    expect(head(200, { 'content-length': '12', etag: '"e"' })()).toEqual({ size: 12, etag: '"e"' });
    expect(head(302, { location: 'http://elsewhere/' })).toThrow(expect.objectContaining({ code: 'BadRequest', message: expect.stringMatching(/redirects are not followed/) }));
    expect(head(404, {})).toThrow(expect.objectContaining({ code: 'NotFound' }));
    expect(head(403, {})).toThrow(expect.objectContaining({ code: 'Forbidden' }));
    expect(head(401, {})).toThrow(expect.objectContaining({ code: 'Forbidden' }));
    expect(head(503, {})).toThrow(expect.objectContaining({ code: 'Unavailable' }));
    expect(head(200, { etag: '"e"' })).toThrow(/no Content-Length/);
    expect(head(200, { 'content-length': '12', etag: '"e"', 'content-encoding': 'gzip' })).toThrow(/content-encoding/);
    expect(head(200, { 'content-length': '12' })).toThrow(expect.objectContaining({ code: 'BadRequest', message: expect.stringMatching(/cannot pin a version/) }));
  });

  it('refuses an origin that cannot pin a version', () => {
    expect(() => httpVersionTag({}, 1, 'https://example.com/a')).toThrow(/no ETag or Last-Modified; cannot pin a version/);
    expect(() => httpVersionTag({ etag: 'W/"x"', lastModified: ' ' }, 1, 'u')).toThrow(/cannot pin/);
  });
});
