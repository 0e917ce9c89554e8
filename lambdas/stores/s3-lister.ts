import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { BadRequestError, ForbiddenError, NotFoundError, UnavailableError } from '../../core/errors.ts';
import type { ListedObject, PrefixLister } from '../domain/origin.ts';

/** The manager's look at a prefix for preheat: ListObjectsV2, page by page, up to `max` keys. */
export class S3PrefixLister implements PrefixLister {
  constructor(private readonly s3: S3Client) {}

  async list(bucket: string, prefix: string, max: number): Promise<ListedObject[]> {
    const objects: ListedObject[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: 1000 }));
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        const name = (error as { name?: string }).name;
        if (status === 404 || name === 'NoSuchBucket') throw new NotFoundError(`s3://${bucket}: no such bucket`, { cause: error });
        if (status === 403) throw new ForbiddenError(`s3://${bucket}/${prefix}: listing denied by S3`, { cause: error });
        throw new UnavailableError(`s3://${bucket}/${prefix}: listing failed (${name ?? 'error'})`, { cause: error, context: { bucket, retryAfterMs: 1000 } });
      }
      for (const object of page.Contents ?? []) {
        if (!object.Key || object.Key.endsWith('/')) continue; // "folder" markers hold no data
        objects.push({ key: object.Key, size: object.Size ?? 0 });
        if (objects.length > max) {
          throw new BadRequestError(`s3://${bucket}/${prefix} holds more than ${max} objects; preheat a narrower prefix`);
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }
}
