import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { ForbiddenError, MayflyError, NotFoundError, OriginChangedError, UnavailableError } from '../../core/errors.ts';
import { httpHeadOf, httpVersionCheck } from '../../core/http-version.ts';
import type { OriginLocation, S3Location } from '../../core/origin-url.ts';
import type { TaskInfo } from '../../core/wire/scheduler.ts';
import type { PieceWriter } from '../cache/piece-writer.ts';
import { readPresignedRange } from './presigned-get.ts';
import { PACK_URL_SEPARATOR, presignedMemberRead, readPackPiece, type MemberRead } from './pack-reader.ts';
import { drainInto } from '../cache/body-sink.ts';
import { jitteredBackoff, sleep } from '../http/retry.ts';

export interface OriginOptions {
  readonly s3: S3Client;
  /** Attempts per piece for throttling and broken connections. */
  readonly attempts?: number;
  readonly baseDelayMs?: number;
  /** Always read with this host's credentials, ignoring presigned URLs. */
  readonly direct?: boolean;
}

/**
 * Back-to-source: one ranged GetObject per piece, pinned to the task's ETag
 * so bytes of two object versions can never be mixed in one task.
 */
export class OriginFetcher {
  private readonly attempts: number;
  private readonly baseDelayMs: number;

  constructor(private readonly options: OriginOptions) {
    this.attempts = options.attempts ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 200;
  }

  /**
   * Size and ETag straight from the origin, for the direct fallback when the scheduler is down.
   * For an HTTP(S) origin the "ETag" is the task's version tag (core/http-version.ts).
   */
  async head(location: OriginLocation): Promise<{ size: number; etag: string }> {
    if (location.kind === 'http') return headHttp(location.url);
    if (location.pack) throw new UnavailableError('a pack has no HEAD: it is opened through the scheduler');
    const where = `s3://${location.bucket}/${location.key}`;
    try {
      const head = await this.options.s3.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key, VersionId: location.versionId }));
      if (head.ContentLength === undefined || !head.ETag) throw new UnavailableError(`${where}: no size or ETag in HeadObject`);
      return { size: head.ContentLength, etag: head.ETag };
    } catch (error) {
      throw toOriginError(error, where, -1);
    }
  }

  /**
   * Reads one piece, retrying with jittered backoff. `presignedUrl` gives the
   * latest URL the scheduler issued; without one (or with `direct` access) the
   * SDK reads with this host's credentials.
   */
  async fetchPiece(
    task: TaskInfo,
    location: OriginLocation,
    writerFor: () => PieceWriter,
    index: number,
    signal?: AbortSignal,
    presignedUrl?: () => string | undefined,
  ): Promise<PieceWriter> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      if (attempt > 0) await sleep(jitteredBackoff(this.baseDelayMs, attempt), signal);
      const writer = writerFor();
      try {
        if (location.kind === 'http') {
          await readHttpRange(task, this.options.direct ? location.url : (presignedUrl?.() ?? location.url), writer, signal);
          return writer;
        }
        const url = this.options.direct ? undefined : presignedUrl?.();
        if (location.pack) await readPackPiece(location.pack, writer, url ? presignedMemberRead(url.split(PACK_URL_SEPARATOR)) : this.memberRead(location.bucket), signal);
        else if (url) await readPresignedRange(url, location.versionId ? undefined : task.etag, writer, signal);
        else await this.readInto(task, location, writer, index, signal);
        return writer;
      } catch (error) {
        lastError = error;
        if (!isRetryable(error) || signal?.aborted) throw error;
      }
    }
    throw lastError;
  }

  /** A pack member read with this host's credentials, pinned to the member's ETag. */
  private memberRead(bucket: string): MemberRead {
    return async (member, index, start, end, signal) => {
      try {
        const response = await this.options.s3.send(new GetObjectCommand({ Bucket: bucket, Key: member.key, Range: `bytes=${start}-${end - 1}`, IfMatch: member.etag }), { abortSignal: signal });
        return response.Body as Readable;
      } catch (error) {
        throw toOriginError(error, `s3://${bucket}/${member.key}`, index);
      }
    };
  }

  private async readInto(task: TaskInfo, location: S3Location, writer: PieceWriter, index: number, signal?: AbortSignal): Promise<void> {
    const { start, end } = writer.range;
    const where = `s3://${location.bucket}/${location.key}`;
    let body: Readable;
    try {
      const response = await this.options.s3.send(
        new GetObjectCommand({
          Bucket: location.bucket,
          Key: location.key,
          VersionId: location.versionId,
          Range: `bytes=${start}-${end - 1}`,
          IfMatch: location.versionId ? undefined : task.etag,
        }),
        { abortSignal: signal },
      );
      if (!location.versionId && response.ETag && response.ETag !== task.etag) {
        (response.Body as Readable | undefined)?.destroy();
        throw new OriginChangedError(`${where} changed while it was being read (ETag ${response.ETag}, task has ${task.etag})`);
      }
      body = response.Body as Readable;
    } catch (error) {
      throw toOriginError(error, where, index);
    }
    try {
      await drainInto(body, writer);
    } catch (error) {
      body.destroy();
      if (error instanceof MayflyError) throw error;
      throw new UnavailableError(`${where}: connection broke during piece ${index}`, { cause: error, context: { retryAfterMs: 200 } });
    }
    if (writer.written !== writer.expectedLength) {
      throw new UnavailableError(`${where}: piece ${index} ended after ${writer.written} bytes`, { context: { retryAfterMs: 200 } });
    }
  }
}

/** One piece of an HTTP(S) origin: a ranged GET pinned to the task's strong ETag or Last-Modified. */
function readHttpRange(task: TaskInfo, url: string, writer: PieceWriter, signal?: AbortSignal): Promise<void> {
  const check = httpVersionCheck(task.etag);
  if ('etag' in check) return readPresignedRange(url, check.etag, writer, signal, { size: task.size, plainOrigin: true });
  if (check.size !== task.size) throw new OriginChangedError(`${url}: version tag says ${check.size} bytes, the task has ${task.size}`);
  return readPresignedRange(url, undefined, writer, signal, { lastModified: check.lastModified, size: task.size, plainOrigin: true });
}

async function headHttp(url: string): Promise<{ size: number; etag: string }> {
  let response: Response;
  try {
    response = await fetch(url, { method: 'HEAD', redirect: 'manual', headers: { 'accept-encoding': 'identity' }, signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    throw new UnavailableError(`${url}: origin unreachable (${(error as Error).message})`, { cause: error, context: { retryAfterMs: 1000 } });
  }
  return httpHeadOf(url, response.status, (name) => response.headers.get(name));
}

function toOriginError(error: unknown, where: string, index: number): MayflyError {
  if (error instanceof MayflyError) return error;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const name = (error as { name?: string }).name ?? 'Error';
  if (status === 404 || name === 'NoSuchKey') return new NotFoundError(`${where}: no such object`, { cause: error });
  if (status === 403) return new ForbiddenError(`${where}: access denied by S3`, { cause: error });
  if (status === 412 || name === 'PreconditionFailed') return new OriginChangedError(`${where} changed (ETag no longer matches)`, { cause: error });
  return new UnavailableError(`${where}: piece ${index} failed (${name})`, { cause: error, context: { retryAfterMs: 500 } });
}

function isRetryable(error: unknown): boolean {
  return error instanceof UnavailableError;
}
