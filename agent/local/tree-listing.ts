import { BadRequestError } from '../../core/errors.ts';
import { LIMITS } from '../../core/constants.ts';
import { parseS3Url } from '../../core/origin-url.ts';
import type { ListedObjectInfo } from '../../core/wire/scheduler.ts';
import type { ListPage } from './s3-list.ts';

/** At most this many objects in one tree (GET /v1/listings); past it, pull a narrower prefix. */
export const TREE_MAX_OBJECTS = 100_000;

export interface TreeListing {
  readonly bucket: string;
  readonly prefix: string;
  /** Every object under the prefix, in key order, with S3's size, ETag and LastModified; folder markers (`…/`) left out. */
  readonly objects: ListedObjectInfo[];
}

/** `s3://bucket/prefix` (the prefix may be empty; everything after the bucket is the prefix, literally, as for keys). BadRequestError otherwise. */
export function parsePrefixUrl(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/?#]+)(?:\/([\s\S]*))?$/.exec(url);
  if (!match) throw new BadRequestError(`not an S3 prefix: ${JSON.stringify(url.slice(0, 200))}; expected s3://bucket/prefix/`);
  parseS3Url(`s3://${match[1]}/k`);
  const prefix = match[2] ?? '';
  // eslint-disable-next-line no-control-regex
  if (prefix.length > 1024 || /[\u0000-\u001f]/.test(prefix) || url.length > LIMITS.maxUrlLength) {
    throw new BadRequestError('prefix is longer than 1024 characters or holds control characters');
  }
  return { bucket: match[1], prefix };
}

/**
 * Lists a whole prefix afresh through the control plane, page after page (one
 * scheduler call, one S3 ListObjectsV2, per 1,000 keys). A tree pull pins each
 * object to the ETag seen here.
 */
export async function listTree(listPage: ListPage, url: string, max = TREE_MAX_OBJECTS): Promise<TreeListing> {
  const { bucket, prefix } = parsePrefixUrl(url);
  const objects: ListedObjectInfo[] = [];
  let continuationToken: string | undefined;
  do {
    const page = await listPage({ bucket, prefix, continuationToken });
    for (const object of page.objects) if (!object.key.endsWith('/')) objects.push(object);
    if (objects.length > max) throw new BadRequestError(`s3://${bucket}/${prefix} holds more than ${max} objects; pull a narrower prefix`);
    continuationToken = page.truncated ? page.nextContinuationToken : undefined;
  } while (continuationToken);
  return { bucket, prefix, objects };
}
