import type { PackMember } from '../../core/pack.ts';
import type { TaskRecord } from './task.ts';

/**
 * The control plane's own piece digests of an S3 task (lambdas/digest/): jobs, how
 * they are dispatched, and how the digest service reads S3.
 */

/** Largest range one digest job reads (one Lambda invocation), so big objects fan out. */
export const DIGEST_JOB_MAX_BYTES = 256 * 1024 * 1024;

/** One digest job: hash pieces `first` .. `first + count - 1` of one pinned S3 object version. */
export interface DigestJob {
  readonly taskId: string;
  readonly bucket: string;
  readonly key: string;
  /** The task's version: reads are pinned to it (VersionId when the URL named one, else If-Match on the ETag). */
  readonly versionId?: string;
  readonly etag: string;
  /** Bytes. */
  readonly size: number;
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly first: number;
  readonly count: number;
  /**
   * Also ask S3 for its full-object SHA-256 and, if it stored one, read the whole
   * object to check it (set on exactly one job of a task).
   */
  readonly checkObject: boolean;
  /** A pack (core/pack.ts): the task is these objects of `bucket` concatenated, each read pinned to its own ETag; `key` is then empty. */
  readonly members?: readonly PackMember[];
}

/** Starts digest jobs; resolves once they are handed off (not when they finish). */
export interface DigestDispatcher {
  dispatch(jobs: readonly DigestJob[]): Promise<void>;
}

/** The jobs of one task: contiguous chunks of at most `maxBytes` (at least one piece each); the first checks the object. */
export function planDigestJobs(
  task: Omit<DigestJob, 'first' | 'count' | 'checkObject'>,
  maxBytes: number = DIGEST_JOB_MAX_BYTES,
): DigestJob[] {
  const perJob = Math.max(1, Math.floor(maxBytes / Math.max(1, task.pieceLength)));
  const jobs: DigestJob[] = [];
  for (let first = 0; first < task.pieceCount; first += perJob) {
    jobs.push({ ...task, first, count: Math.min(perJob, task.pieceCount - first), checkObject: first === 0 });
  }
  return jobs;
}

/** The digest-job fields of an S3 task. */
export function digestTaskOf(task: TaskRecord, bucket: string, key: string, versionId: string | undefined): Omit<DigestJob, 'first' | 'count' | 'checkObject'> {
  return { taskId: task.id, bucket, key, versionId, etag: task.etag, size: task.size, pieceLength: task.pieceLength, pieceCount: task.pieceCount };
}

/** The digest-job fields of a pack task. */
export function packDigestTaskOf(task: TaskRecord & { pack: NonNullable<TaskRecord['pack']> }): Omit<DigestJob, 'first' | 'count' | 'checkObject'> {
  return { taskId: task.id, bucket: task.pack.bucket, key: '', etag: task.etag, size: task.size, pieceLength: task.pieceLength, pieceCount: task.pieceCount, members: task.pack.members };
}

/** S3's full-object SHA-256, when it stored one (composite multipart checksums and CRCs are not reported). */
export interface ObjectChecksum {
  /** Base64, as S3 reports ChecksumSHA256. */
  readonly sha256?: string;
}

/** How the digest service reads S3: in-region, pinned to the task's version. */
export interface ObjectRangeReader {
  /** HeadObject with checksum mode; NotFoundError / ForbiddenError / UnavailableError / OriginChangedError. */
  checksum(job: DigestJob): Promise<ObjectChecksum>;
  /** Bytes [start, end) of the pinned version, streamed; OriginChangedError when the version is gone or changed. */
  read(job: DigestJob, start: number, end: number): AsyncIterable<Uint8Array>;
}
