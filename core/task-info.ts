import { choosePieceLength, pieceCountOf } from './piece-math.ts';
import { computeTaskId } from './task-id.ts';
import type { TaskInfo } from './wire/scheduler.ts';

/** What a HEAD of the origin says about the current version of an object. */
export interface OriginHead {
  /** Bytes. */
  readonly size: number;
  /** S3's ETag, or an HTTP origin's version tag (core/http-version.ts). */
  readonly etag: string;
}

/**
 * The task of one version of an object: id, piece length and piece count.
 * The scheduler and an agent reading S3 directly compute it the same way, so
 * both name the same version with the same id. `versionId` (an S3 version the
 * caller pinned) takes the ETag's place in the id.
 */
export function taskInfoOf(canonicalUrl: string, head: OriginHead, versionId?: string): TaskInfo {
  const pieceLength = choosePieceLength(head.size);
  return {
    id: computeTaskId(canonicalUrl, versionId ?? head.etag),
    url: canonicalUrl,
    size: head.size,
    etag: head.etag,
    pieceLength,
    pieceCount: pieceCountOf(head.size, pieceLength),
  };
}
