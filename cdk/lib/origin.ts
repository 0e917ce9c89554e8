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
}

/** `prefixes`, or the whole bucket as the empty prefix. */
export function originPrefixes(origin: MayflyOrigin): string[] {
  return origin.prefixes?.length ? origin.prefixes : [''];
}

/**
 * The scheduler's allowlist entries (`bucket/prefix`), as lambdas/scheduler reads them from
 * MAYFLY_ALLOWED_ORIGINS. The slash after the bucket keeps `logs` from matching `logs-archive`.
 */
export function allowedOriginEntries(origins: readonly MayflyOrigin[]): string[] {
  return origins.flatMap((origin) => originPrefixes(origin).map((prefix) => `${origin.bucket.bucketName}/${prefix}`));
}

/**
 * Parses `bucket/prefix,other-bucket` (the `origins` context value) into bucket names and
 * prefixes; the caller imports the buckets.
 */
export function parseOriginList(value: string): Array<{ bucketName: string; prefix?: string }> {
  return value
    .split(',')
    .map((entry) => entry.trim().replace(/^s3:\/\//, ''))
    .filter(Boolean)
    .map((entry) => {
      const slash = entry.indexOf('/');
      const bucketName = slash < 0 ? entry : entry.slice(0, slash);
      const prefix = slash < 0 ? '' : entry.slice(slash + 1);
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucketName)) {
        throw new Error(`origins: ${JSON.stringify(bucketName)} is not a valid S3 bucket name`);
      }
      return prefix ? { bucketName, prefix } : { bucketName };
    });
}
