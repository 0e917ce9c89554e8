import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ForbiddenError, NotFoundError, OriginChangedError, UnavailableError } from '../../core/errors.ts';
import { memberSpans } from '../../core/pack.ts';
import type { DigestJob, ObjectChecksum, ObjectRangeReader } from '../domain/digest.ts';

/** GETs of a pack's members sent before their turn (core/pack.ts: members are small, each GET mostly latency). */
const MEMBER_GETS_AHEAD = 8;

/**
 * The digest service's reads of S3, pinned to the task's version: VersionId when
 * the URL named one, else If-Match on the task's ETag (a replaced object answers
 * 412, never other bytes).
 */
export class S3RangeReader implements ObjectRangeReader {
  constructor(private readonly s3: S3Client) {}

  async checksum(job: DigestJob): Promise<ObjectChecksum> {
    // A pack is no S3 object: it has no checksum of its own (each member read is pinned to its ETag).
    if (job.members) return {};
    try {
      const head = await this.s3.send(
        new HeadObjectCommand({ Bucket: job.bucket, Key: job.key, ...this.pin(job), ChecksumMode: 'ENABLED' }),
      );
      // Only a full-object SHA-256 is a check worth making: a composite (multipart) one is a hash of
      // part hashes, and CRCs can be matched by anyone who can choose bytes.
      if (!head.ChecksumSHA256 || head.ChecksumType !== 'FULL_OBJECT') return {};
      return { sha256: head.ChecksumSHA256 };
    } catch (error) {
      throw toOriginError(error, job);
    }
  }

  async *read(job: DigestJob, start: number, end: number): AsyncIterable<Uint8Array> {
    if (end <= start) return;
    if (job.members) return yield* this.readMembers(job, start, end);
    yield* await this.open(job, start, end);
  }

  /**
   * A pack's range: each member's part in turn, each pinned to the member's own ETag. A small
   * object's GET is mostly latency, so up to MEMBER_GETS_AHEAD are sent ahead; their bodies
   * wait unread (TCP holds them back) until their turn.
   */
  private async *readMembers(job: DigestJob, start: number, end: number): AsyncIterable<Uint8Array> {
    const members = job.members!;
    const spans = memberSpans(members, start, end);
    const ahead: Promise<AsyncIterable<Uint8Array>>[] = [];
    let next = 0;
    const sendAhead = () => {
      while (next < spans.length && ahead.length < MEMBER_GETS_AHEAD) {
        const span = spans[next++];
        const member = members[span.index];
        const opening = this.open({ ...job, key: member.key, etag: member.etag, size: member.size, versionId: undefined, members: undefined }, span.start, span.end);
        opening.catch(() => {}); // awaited in turn below
        ahead.push(opening);
      }
    };
    try {
      sendAhead();
      while (ahead.length > 0) {
        const body = await ahead.shift()!;
        sendAhead();
        yield* body;
      }
    } finally {
      // Given up on (a failed member, a mismatch): the bodies sent ahead are not read.
      for (const opening of ahead) opening.then((body) => (body as { destroy?: () => void }).destroy?.(), () => {});
    }
  }

  /** One ranged GET, pinned; resolves its body once S3 answered. */
  private async open(job: DigestJob, start: number, end: number): Promise<AsyncIterable<Uint8Array>> {
    try {
      const answer = await this.s3.send(
        new GetObjectCommand({ Bucket: job.bucket, Key: job.key, ...this.pin(job), Range: `bytes=${start}-${end - 1}` }),
      );
      if (!answer.Body) throw new UnavailableError(`s3://${job.bucket}/${job.key}: empty GET answer`);
      return answer.Body as AsyncIterable<Uint8Array>;
    } catch (error) {
      throw toOriginError(error, job);
    }
  }

  private pin(job: DigestJob): { VersionId?: string; IfMatch?: string } {
    return job.versionId ? { VersionId: job.versionId } : { IfMatch: job.etag };
  }
}

function toOriginError(error: unknown, job: DigestJob): Error {
  if (error instanceof UnavailableError) return error;
  const where = `s3://${job.bucket}/${job.key}`;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const context = { bucket: job.bucket, key: job.key, taskId: job.taskId };
  if (status === 412) return new OriginChangedError(`${where}: the task's version is no longer the object`, { cause: error, context });
  if (status === 404) return new NotFoundError(`${where}: no such object`, { cause: error, context });
  if (status === 403) return new ForbiddenError(`${where}: access denied by S3`, { cause: error, context });
  return new UnavailableError(`${where}: digest read failed (${(error as Error).name ?? 'error'})`, { cause: error, context: { ...context, retryAfterMs: 1000 } });
}
