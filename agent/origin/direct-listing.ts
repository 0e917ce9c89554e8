import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ForbiddenError, NotFoundError, UnavailableError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { ListingPageQuery, ListingResponse } from '../../core/wire/scheduler.ts';

/**
 * One ListObjectsV2 page read with this host's own AWS credentials: the
 * listing half of the S3 fallback when the scheduler is unreachable (S3 and
 * IAM decide, as for the fallback's GETs). Errors: NotFoundError (no such
 * bucket), ForbiddenError (S3 denied the listing), UnavailableError otherwise.
 */
export async function listPageDirect(s3: S3Client, query: ListingPageQuery): Promise<ListingResponse> {
  const prefix = query.prefix ?? '';
  const where = `s3://${query.bucket}/${prefix}`;
  let page;
  try {
    page = await s3.send(
      new ListObjectsV2Command({
        Bucket: query.bucket,
        Prefix: prefix || undefined,
        Delimiter: query.delimiter,
        ContinuationToken: query.continuationToken,
        StartAfter: query.startAfter,
        MaxKeys: query.maxKeys ?? 1000,
      }),
    );
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const name = (error as { name?: string }).name ?? 'error';
    if (status === 404 || name === 'NoSuchBucket') throw new NotFoundError(`s3://${query.bucket}: no such bucket`, { cause: error });
    if (status === 403) throw new ForbiddenError(`${where}: listing denied by S3 to this host's credentials (the scheduler is unreachable)`, { cause: error });
    throw new UnavailableError(`${where}: listing failed (${name}) and the scheduler is unreachable`, { cause: error, context: { retryAfterMs: 1000 } });
  }
  return {
    bucket: query.bucket,
    prefix,
    objects: (page.Contents ?? []).map((object) => ({
      key: object.Key ?? '',
      size: object.Size ?? 0,
      etag: object.ETag ?? '',
      lastModified: (object.LastModified ?? new Date(0)).toISOString(),
    })),
    commonPrefixes: (page.CommonPrefixes ?? []).map((entry) => entry.Prefix ?? '').filter(Boolean),
    truncated: page.IsTruncated ?? false,
    ...(page.NextContinuationToken ? { nextContinuationToken: page.NextContinuationToken } : {}),
  };
}

/**
 * The control plane's listing, or, while the scheduler is unreachable
 * (UnavailableError), the host's own: the same rule as a single object's
 * fallback (agent/origin/fallback-origins.ts: S3 URLs anywhere the host's
 * credentials reach). Any other answer (403, 404, 400) is final.
 */
export function listingWithFallback<Q extends ListingPageQuery>(
  primary: (query: Q) => Promise<ListingResponse>,
  s3: S3Client,
  log: Logger,
): (query: Q) => Promise<ListingResponse> {
  let warned = false;
  return async (query) => {
    try {
      const page = await primary(query);
      warned = false;
      return page;
    } catch (error) {
      if (!(error instanceof UnavailableError)) throw error;
      if (!warned) log.warn('scheduler unreachable for a listing; listing with this host\'s own credentials', { bucket: query.bucket, prefix: query.prefix, error });
      warned = true;
      return listPageDirect(s3, query);
    }
  };
}
