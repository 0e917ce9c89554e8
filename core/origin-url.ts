import { BadRequestError } from './errors.ts';
import { LIMITS } from './constants.ts';
import type { PackMember } from './pack.ts';

/** An S3 object addressed as `s3://bucket/key[?versionId=…]`. */
export interface S3Location {
  readonly kind: 's3';
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  /** A pack of small objects (core/pack.ts) read in place of `key`: the members, each pinned to its ETag. */
  readonly pack?: readonly PackMember[];
}

// S3's own bucket naming rules (lowercase, digits, dots, hyphens; 3-63 characters).
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const VERSION_PATTERN = /^[A-Za-z0-9._+=-]{1,1024}$/;

/**
 * The canonical (wire) spelling: `s3://bucket/KEY[?versionId=…]` with KEY percent-encoded,
 * as canonicalS3Url writes it and task records, announces and preheat jobs carry it.
 * For what a user types, see parseLiteralS3Url.
 */
export function parseS3Url(input: string): S3Location {
  checkUrlLength(input, 's3://bucket/key');
  const match = /^s3:\/\/([^/?#]+)\/([^?#]+)(?:\?([^#]*))?$/.exec(input);
  if (!match) {
    throw new BadRequestError(`not an S3 URL: ${JSON.stringify(input)}; expected s3://bucket/key`, { context: { url: input } });
  }
  const [, bucket, rawKey, query] = match;
  let key: string;
  try {
    key = decodeURIComponent(rawKey);
  } catch (cause) {
    throw new BadRequestError(`invalid percent-encoding in key of ${JSON.stringify(input)}`, { cause });
  }
  let versionId: string | undefined;
  if (query !== undefined && query !== '') {
    const params = new URLSearchParams(query);
    for (const name of params.keys()) {
      if (name !== 'versionId') throw new BadRequestError(`unsupported query parameter ${JSON.stringify(name)} in S3 URL`);
    }
    versionId = params.get('versionId') ?? undefined;
  }
  return s3Location(bucket, key, versionId, input);
}

/**
 * An `s3://` URL as a user types it, read as the AWS CLI reads it: everything after
 * `s3://bucket/` is the key, literally (`%`, `#`, `?` and spaces are part of it, nothing
 * is decoded). A version is pinned with `versionId` (the CLI's `--version-id`), never in the URL.
 */
export function parseLiteralS3Url(input: string, versionId?: string): S3Location {
  checkUrlLength(input, 's3://bucket/key');
  const match = /^s3:\/\/([^/]+)\/([\s\S]+)$/.exec(input);
  if (!match) {
    throw new BadRequestError(`not an S3 URL: ${JSON.stringify(input)}; expected s3://bucket/key`, { context: { url: input } });
  }
  return s3Location(match[1], match[2], versionId, input);
}

function checkUrlLength(input: string, expected: string): void {
  if (typeof input !== 'string' || input.length === 0) throw new BadRequestError(`URL is empty; expected ${expected}`);
  if (input.length > LIMITS.maxUrlLength) throw new BadRequestError(`URL is longer than ${LIMITS.maxUrlLength} characters`);
}

function s3Location(bucket: string, key: string, versionId: string | undefined, input: string): S3Location {
  if (!BUCKET_PATTERN.test(bucket)) {
    throw new BadRequestError(`invalid bucket name ${JSON.stringify(bucket)}`, { context: { url: input } });
  }
  if (key.length > 1024 || /[\u0000-\u001f]/.test(key)) {
    throw new BadRequestError('object key is longer than 1024 characters or holds control characters', { context: { url: input } });
  }
  refuseNormalisedPath(key, input);
  if (versionId !== undefined && !VERSION_PATTERN.test(versionId)) {
    throw new BadRequestError('invalid versionId', { context: { url: input } });
  }
  return versionId === undefined ? { kind: 's3', bucket, key } : { kind: 's3', bucket, key, versionId };
}

/**
 * Refuses an S3 key that an HTTP stack would rewrite before sending it:
 * a `.` or `..` segment (also percent-encoded, checked after decoding) or an empty
 * segment (`//`, a leading `/`). The allowlist checks the key as written, and a
 * presigned or plain URL of such a key could reach a different object once normalised
 * (`public/../models/a.bin`), so it is refused wherever a URL is parsed.
 */
function refuseNormalisedPath(key: string, url: string): void {
  const segments = key.split('/');
  // A trailing `/` (a "folder" key) is not rewritten by any client; every other empty segment is.
  const inner = segments.slice(0, -1);
  const last = segments[segments.length - 1];
  if (inner.some((segment) => segment === '' || segment === '.' || segment === '..') || last === '.' || last === '..') {
    throw new BadRequestError('object key holds a ".", ".." or empty path segment, which HTTP clients rewrite; refused so the object read is the one checked', {
      context: { url },
    });
  }
}

/**
 * The one spelling of a location that task ids are computed from: each key segment
 * percent-encoded once (encodeURIComponent), so parseS3Url gives back the same key.
 */
export function canonicalS3Url(location: S3Location): string {
  const key = location.key.split('/').map(encodeURIComponent).join('/');
  const base = `s3://${location.bucket}/${key}`;
  return location.versionId ? `${base}?versionId=${encodeURIComponent(location.versionId)}` : base;
}

/** An artifact on a plain HTTP(S) server, addressed by its URL. */
export interface HttpLocation {
  readonly kind: 'http';
  /** The canonical spelling (see canonicalOriginUrl). */
  readonly url: string;
}

export type OriginLocation = S3Location | HttpLocation;

/**
 * `s3://bucket/key[?versionId=…]` or `http(s)://host[:port]/path[?query]`.
 * HTTP URLs may carry no credentials and no fragment: the URL is part of the
 * task identity and is handed to other agents, so it must hold no secret and
 * have one meaning.
 */
export function parseOriginUrl(input: string): OriginLocation {
  if (typeof input !== 'string' || input.length === 0) {
    throw new BadRequestError('URL is empty; expected s3://bucket/key or http(s)://host/path');
  }
  if (input.startsWith('s3://')) return parseS3Url(input);
  if (!/^https?:\/\//i.test(input)) {
    throw new BadRequestError(`not an S3 or HTTP(S) URL: ${JSON.stringify(input.slice(0, 200))}; expected s3://bucket/key or http(s)://host/path`, {
      context: { url: input.slice(0, 200) },
    });
  }
  if (input.length > LIMITS.maxUrlLength) {
    throw new BadRequestError(`URL is longer than ${LIMITS.maxUrlLength} characters`);
  }
  // The WHATWG parser silently drops tabs and newlines; refuse them instead of guessing.
  if (/[\u0000-\u0020\u007f]/.test(input)) throw new BadRequestError('HTTP URL holds spaces or control characters');
  if (input.includes('#')) throw new BadRequestError('HTTP URL must not have a #fragment');
  // The allowlist checks HTTP(S) URLs in the WHATWG form (dot segments resolved), which is also the form fetched.
  let parsed: URL;
  try {
    parsed = new URL(input);
  } catch (cause) {
    throw new BadRequestError(`invalid HTTP URL ${JSON.stringify(input.slice(0, 200))}`, { cause });
  }
  const authority = input.slice(input.indexOf('//') + 2).split(/[/?]/)[0];
  if (parsed.username || parsed.password || authority.includes('@')) {
    throw new BadRequestError('HTTP URL must not carry credentials (user:password@); the URL is shared with other agents');
  }
  if (!parsed.hostname) throw new BadRequestError('HTTP URL has no host');
  const url = parsed.href;
  if (url.length > LIMITS.maxUrlLength) throw new BadRequestError(`URL is longer than ${LIMITS.maxUrlLength} characters`);
  return { kind: 'http', url };
}

/**
 * A URL as a user gives it (CLI, local API, preheat requests): `s3://` literally
 * (parseLiteralS3Url, `versionId` pins a version), HTTP(S) as parseOriginUrl reads it.
 */
export function parseUserUrl(input: string, versionId?: string): OriginLocation {
  if (typeof input === 'string' && input.startsWith('s3://')) return parseLiteralS3Url(input, versionId);
  if (versionId !== undefined) throw new BadRequestError('a versionId applies only to s3:// URLs');
  return parseOriginUrl(input);
}

/** The one spelling of any origin location that task ids are computed from. */
export function canonicalOriginUrl(location: OriginLocation): string {
  return location.kind === 's3' ? canonicalS3Url(location) : new URL(location.url).href;
}

/** Human-readable name of a location for messages. */
export function describeOrigin(location: OriginLocation): string {
  return location.kind === 's3' ? `s3://${location.bucket}/${location.key}` : location.url;
}

/**
 * Whether an allowlist entry admits `location`: `bucket` admits that bucket exactly,
 * `bucket/prefix` the keys of that bucket starting with the prefix; `http(s)://host[:port]/prefix` entries admit HTTP URLs of exactly
 * that scheme, host and port whose path starts with the entry's path.
 */
export function originAllowedBy(entry: string, location: OriginLocation): boolean {
  if (location.kind === 's3') {
    if (/^[a-z][a-z0-9+.-]*:/i.test(entry)) return false;
    // `bucket` admits that bucket exactly (not `bucket-private`); `bucket/prefix` admits keys
    // starting with the prefix byte for byte, as S3 compares keys (parsing refused dot segments).
    const slash = entry.indexOf('/');
    if (slash < 0) return location.bucket === entry;
    return location.bucket === entry.slice(0, slash) && location.key.startsWith(entry.slice(slash + 1));
  }
  if (!/^https?:\/\//i.test(entry)) return false;
  let prefix: URL;
  try {
    prefix = new URL(entry);
  } catch {
    return false;
  }
  if (prefix.username || prefix.password || prefix.search || prefix.hash) return false;
  const target = new URL(location.url);
  // Compare origins structurally: a string prefix would let http://host.evil.example match http://host.
  if (target.protocol !== prefix.protocol || target.host !== prefix.host) return false;
  // Under a path prefix, encoded slashes and dots are refused: a server that decodes them
  // (`/allowed/..%2Fprivate`) would otherwise serve what the prefix was meant to exclude.
  if (prefix.pathname !== '/' && /%2f|%5c|%2e/i.test(target.pathname)) return false;
  return `${target.pathname}${target.search}`.startsWith(prefix.pathname);
}
