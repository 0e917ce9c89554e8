import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';

/** An S3 location Mayfly may distribute: a bucket, optionally narrowed to key prefixes. */
export interface MayflyOrigin {
  readonly bucket: s3.IBucket;
  /**
   * Key prefixes agents may pull, e.g. `models/`. Each also gets an ObjectCreated → preheat
   * notification when origin events are wired.
   * @default - the whole bucket
   */
  readonly prefixes?: string[];
  /**
   * The customer-managed KMS key the bucket's objects are encrypted with (SSE-KMS). Every
   * reader of the origin (the Lambdas for presigned reads, the agents for their fallback)
   * gets `kms:Decrypt` on it, only through S3 (`kms:ViaService`).
   * @default - the bucket's own `encryptionKey` if it has one, else none (SSE-S3)
   */
  readonly encryptionKey?: kms.IKey;
}

/** `prefixes`, or the whole bucket as the empty prefix. */
export function originPrefixes(origin: MayflyOrigin): string[] {
  return origin.prefixes?.length ? origin.prefixes : [''];
}

/** The key objects of `origin` are encrypted with, if any. */
export function originKey(origin: MayflyOrigin): kms.IKey | undefined {
  return origin.encryptionKey ?? origin.bucket.encryptionKey;
}

/**
 * The scheduler's allowlist entries (`bucket/prefix`), as lambdas/scheduler reads them from
 * MAYFLY_ALLOWED_ORIGINS. The slash after the bucket keeps `logs` from matching `logs-archive`.
 */
export function allowedOriginEntries(origins: readonly MayflyOrigin[]): string[] {
  return origins.flatMap((origin) => originPrefixes(origin).map((prefix) => `${origin.bucket.bucketName}/${prefix}`));
}

/** One `origins` context entry: a bucket name, a key prefix, and the bucket's KMS key ARN. */
export interface OriginEntry {
  readonly bucketName: string;
  readonly prefix?: string;
  readonly keyArn?: string;
}

const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-zA-Z-]+$/;

/**
 * Parses `bucket/prefix,other-bucket` (the `origins` context value) into bucket names and
 * prefixes; the caller imports the buckets. `originKeys` (`bucket=arn:aws:kms:…,…`) names the
 * customer-managed key of SSE-KMS buckets.
 * @throws Error naming the bad entry
 */
export function parseOriginList(value: string, keys = ''): OriginEntry[] {
  const keyOf = new Map<string, string>();
  for (const entry of keys.split(',').map((text) => text.trim()).filter(Boolean)) {
    const equals = entry.indexOf('=');
    const bucketName = entry.slice(0, equals);
    const keyArn = entry.slice(equals + 1);
    if (equals < 1 || !KEY_ARN.test(keyArn)) throw new Error(`originKeys: ${JSON.stringify(entry)} is not bucket=arn:aws:kms:region:account:key/id`);
    keyOf.set(bucketName, keyArn);
  }
  const entries = value
    .split(',')
    .map((entry) => entry.trim().replace(/^s3:\/\//, ''))
    .filter(Boolean)
    .map((entry): OriginEntry => {
      const slash = entry.indexOf('/');
      const bucketName = slash < 0 ? entry : entry.slice(0, slash);
      const prefix = slash < 0 ? '' : entry.slice(slash + 1);
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucketName)) {
        throw new Error(`origins: ${JSON.stringify(bucketName)} is not a valid S3 bucket name`);
      }
      const keyArn = keyOf.get(bucketName);
      return { bucketName, ...(prefix ? { prefix } : {}), ...(keyArn ? { keyArn } : {}) };
    });
  for (const bucketName of keyOf.keys()) {
    if (!entries.some((entry) => entry.bucketName === bucketName)) throw new Error(`originKeys: ${JSON.stringify(bucketName)} is not one of the origins`);
  }
  return entries;
}
