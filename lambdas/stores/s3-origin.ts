import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ForbiddenError, NotFoundError, UnavailableError } from '../../core/errors.ts';
import type { ObjectHead, OriginReader } from '../domain/origin.ts';

/** The scheduler's one look at the origin: a HeadObject per task. */
export class S3OriginReader implements OriginReader {
  constructor(private readonly s3: S3Client) {}

  async presignGet(bucket: string, key: string, versionId: string | undefined, expiresInSeconds: number): Promise<string> {
    try {
      return await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }), { expiresIn: expiresInSeconds });
    } catch (error) {
      // Signing only fails when the function's credentials cannot be resolved right now.
      throw new UnavailableError(`s3://${bucket}/${key}: could not presign a GET (${(error as Error).name ?? 'error'})`, {
        cause: error,
        context: { bucket, key, retryAfterMs: 1000 },
      });
    }
  }

  async head(bucket: string, key: string, versionId?: string): Promise<ObjectHead> {
    const where = `s3://${bucket}/${key}`;
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
      if (head.ContentLength === undefined || !head.ETag) {
        throw new UnavailableError(`${where}: origin answered without size or ETag`);
      }
      return { size: head.ContentLength, etag: head.ETag, versionId: head.VersionId };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const name = (error as { name?: string }).name;
      if (status === 404 || name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchBucket') {
        throw new NotFoundError(`${where}: no such object`, { cause: error, context: { bucket, key } });
      }
      if (status === 403) throw new ForbiddenError(`${where}: access denied by S3`, { cause: error, context: { bucket, key } });
      if (error instanceof UnavailableError) throw error;
      throw new UnavailableError(`${where}: origin unavailable (${name ?? 'error'})`, {
        cause: error,
        context: { bucket, key, retryAfterMs: 1000 },
      });
    }
  }
}
