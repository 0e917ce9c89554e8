import { createHash } from 'node:crypto';
import { BadRequestError } from './errors.ts';
import { isHexId } from './ids.ts';

/**
 * A task is one immutable version of an object: the canonical URL plus the
 * object's ETag (or VersionId). A changed object therefore gets a new task id,
 * so no cache can serve bytes of an old version for a new one.
 */
export function computeTaskId(canonicalUrl: string, versionTag: string): string {
  if (!versionTag) throw new BadRequestError('a task needs the object ETag or VersionId');
  return createHash('sha256').update(canonicalUrl).update('\n').update(versionTag).digest('hex');
}

export function assertTaskId(value: unknown): string {
  if (!isHexId(value)) throw new BadRequestError('task id must be 64 lowercase hex characters');
  return value;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Small stable hash used to spread peers over shards. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}
