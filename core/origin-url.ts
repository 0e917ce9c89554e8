import { BadRequestError } from './errors.ts';
import { LIMITS } from './constants.ts';

/** An S3 object addressed as `s3://bucket/key[?versionId=…]`. */
export interface S3Location {
  readonly kind: 's3';
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
}

// S3's own bucket naming rules (lowercase, digits, dots, hyphens; 3-63 characters).
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const VERSION_PATTERN = /^[A-Za-z0-9._+=-]{1,1024}$/;

export function parseS3Url(input: string): S3Location {
  if (typeof input !== 'string' || input.length === 0) {
    throw new BadRequestError('URL is empty; expected s3://bucket/key');
  }
  if (input.length > LIMITS.maxUrlLength) {
    throw new BadRequestError(`URL is longer than ${LIMITS.maxUrlLength} characters`);
  }
  const match = /^s3:\/\/([^/?#]+)\/([^?#]+)(?:\?([^#]*))?$/.exec(input);
  if (!match) {
    throw new BadRequestError(`not an S3 URL: ${JSON.stringify(input)}; expected s3://bucket/key`, { context: { url: input } });
  }
  const [, bucket, rawKey, query] = match;
  if (!BUCKET_PATTERN.test(bucket)) {
    throw new BadRequestError(`invalid bucket name ${JSON.stringify(bucket)}`, { context: { url: input } });
  }
  let key: string;
  try {
    key = decodeURIComponent(rawKey);
  } catch (cause) {
    throw new BadRequestError(`invalid percent-encoding in key of ${JSON.stringify(input)}`, { cause });
  }
  if (key.length > 1024 || /[\u0000-\u001f]/.test(key)) {
    throw new BadRequestError('object key is longer than 1024 characters or holds control characters', { context: { url: input } });
  }
  let versionId: string | undefined;
  if (query !== undefined && query !== '') {
    const params = new URLSearchParams(query);
    for (const name of params.keys()) {
      if (name !== 'versionId') throw new BadRequestError(`unsupported query parameter ${JSON.stringify(name)} in S3 URL`);
    }
    versionId = params.get('versionId') ?? undefined;
    if (versionId !== undefined && !VERSION_PATTERN.test(versionId)) {
      throw new BadRequestError('invalid versionId in S3 URL');
    }
  }
  return versionId === undefined ? { kind: 's3', bucket, key } : { kind: 's3', bucket, key, versionId };
}

/** The one spelling of a location that task ids are computed from. */
export function canonicalS3Url(location: S3Location): string {
  const key = location.key.split('/').map(encodeURIComponent).join('/');
  const base = `s3://${location.bucket}/${key}`;
  return location.versionId ? `${base}?versionId=${encodeURIComponent(location.versionId)}` : base;
}
