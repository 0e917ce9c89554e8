import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { BadRequestError, ForbiddenError, NotFoundError, UnavailableError } from '../../core/errors.ts';
import type { ListingPage, ListingPageRequest, ObjectLister } from '../domain/origin.ts';

/**
 * The scheduler's listing of a prefix for agents (tree pulls, the agents' S3
 * endpoint): one ListObjectsV2 page per call with the scheduler's own role.
 */
export class S3ObjectLister implements ObjectLister {
  constructor(private readonly s3: S3Client) {}

  async listPage(request: ListingPageRequest): Promise<ListingPage> {
    const where = `s3://${request.bucket}/${request.prefix}`;
    let page;
    try {
      page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: request.bucket,
          Prefix: request.prefix || undefined,
          Delimiter: request.delimiter,
          ContinuationToken: request.continuationToken,
          StartAfter: request.startAfter || undefined,
          MaxKeys: request.maxKeys,
        }),
      );
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const name = (error as { name?: string }).name;
      if (status === 404 || name === 'NoSuchBucket') throw new NotFoundError(`s3://${request.bucket}: no such bucket`, { cause: error, context: { bucket: request.bucket } });
      if (status === 403) throw new ForbiddenError(`${where}: listing denied by S3`, { cause: error });
      if (status === 400) throw new BadRequestError(`${where}: S3 refused the listing (${name ?? 'InvalidArgument'})`, { cause: error });
      throw new UnavailableError(`${where}: listing failed (${name ?? 'error'})`, { cause: error, context: { bucket: request.bucket, retryAfterMs: 1000 } });
    }
    const objects = (page.Contents ?? [])
      .filter((object) => object.Key !== undefined)
      .map((object) => ({ key: object.Key!, size: object.Size ?? 0, etag: object.ETag ?? '""', lastModified: object.LastModified ?? new Date(0) }));
    const commonPrefixes = (page.CommonPrefixes ?? []).map((entry) => entry.Prefix).filter((prefix): prefix is string => prefix !== undefined);
    const truncated = page.IsTruncated === true;
    return { objects, commonPrefixes, truncated, ...(truncated && page.NextContinuationToken ? { nextContinuationToken: page.NextContinuationToken } : {}) };
  }
}
