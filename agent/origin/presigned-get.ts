import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BadRequestError, ForbiddenError, MayflyError, NotFoundError, OriginChangedError, UnavailableError } from '../../core/errors.ts';
import type { PieceWriter } from '../cache/piece-writer.ts';
import { drainInto } from '../cache/body-sink.ts';
import { abortableRequest } from '../http/abortable-request.ts';

export interface RangeReadOptions {
  /**
   * The version is pinned by Last-Modified (an HTTP origin without a strong ETag):
   * sent as If-Unmodified-Since, and a response with another Last-Modified is refused.
   */
  readonly lastModified?: string;
  /** The object's full length, checked against Content-Range when the server sends it. */
  readonly size?: number;
  /**
   * A plain HTTP(S) origin rather than a presigned S3 URL: 401/403 are final answers
   * (not an expired signature worth retrying).
   */
  readonly plainOrigin?: boolean;
}

/**
 * Back-to-source through a presigned URL the scheduler issued: a plain ranged
 * GET, so an agent in AWS needs no S3 permission of its own. Pinned to the
 * task's ETag like the SDK path. Also reads HTTP(S) origins (see RangeReadOptions).
 */
export async function readPresignedRange(
  url: string,
  etag: string | undefined,
  writer: PieceWriter,
  signal?: AbortSignal,
  options: RangeReadOptions = {},
): Promise<void> {
  const { start, end } = writer.range;
  const headers: Record<string, string> = { range: `bytes=${start}-${end - 1}` };
  if (etag) headers['if-match'] = etag;
  if (options.lastModified) headers['if-unmodified-since'] = options.lastModified;
  let res: IncomingMessage;
  try {
    res = await abortableRequest(url.startsWith('https:') ? httpsRequest : httpRequest, url, {
      headers,
      signal,
      idleTimeoutMs: 30_000,
      onTimeout: () => new UnavailableError('origin did not answer for 30 s', { context: { retryAfterMs: 500 } }),
    });
  } catch (error) {
    throw error instanceof MayflyError ? error : new UnavailableError(`origin request failed: ${(error as Error).message}`, { cause: error, context: { retryAfterMs: 500 } });
  }
  const status = res.statusCode ?? 0;
  if (status !== 206 && status !== 200) {
    res.resume();
    if (options.plainOrigin && (status === 401 || status === 403)) throw new ForbiddenError(`origin refused the read (${status})`);
    if (options.plainOrigin && status >= 300 && status < 400) throw new OriginChangedError(`origin now redirects (${status}); the task's URL no longer serves it`);
    // An expired URL is refreshed by the next announce, so 403 is worth a retry.
    if (status === 403) throw new UnavailableError('presigned origin URL refused (expired?)', { context: { retryAfterMs: 1000 } });
    if (status === 404) throw new NotFoundError('origin object is gone');
    if (status === 412) throw new OriginChangedError('origin object changed (its ETag or Last-Modified no longer matches)');
    if (status === 401) throw new ForbiddenError('origin refused the presigned URL');
    throw new UnavailableError(`origin answered ${status}`, { context: { retryAfterMs: 500 } });
  }
  if (etag && res.headers.etag && res.headers.etag !== etag) {
    res.destroy();
    throw new OriginChangedError(`origin object changed while it was being read (ETag ${res.headers.etag}, task has ${etag})`);
  }
  const lastModified = res.headers['last-modified'];
  if (options.lastModified && lastModified !== undefined && lastModified !== options.lastModified) {
    res.destroy();
    throw new OriginChangedError(`origin object changed while it was being read (Last-Modified ${lastModified}, task has ${options.lastModified})`);
  }
  const total = /\/(\d+)$/.exec(res.headers['content-range'] ?? '')?.[1];
  if (options.size !== undefined && status === 206 && total !== undefined && Number(total) !== options.size) {
    res.destroy();
    throw new OriginChangedError(`origin object changed: it is now ${total} bytes, the task has ${options.size}`);
  }
  if (status === 200 && start !== 0 && options.plainOrigin) {
    res.destroy();
    throw new BadRequestError('origin ignores Range requests; it cannot be read piece by piece');
  }
  // A 200 (Range ignored) is only acceptable when the piece is the whole object.
  const mismatch = status === 200 && start !== 0 ? 'the whole object' : lengthMismatch(res.headers, status, start, writer.expectedLength);
  if (mismatch) {
    res.destroy();
    throw new UnavailableError(`origin sent ${mismatch} for a ${writer.expectedLength}-byte piece at ${start}`, { context: { retryAfterMs: 200 } });
  }
  try {
    await drainInto(res, writer);
  } catch (error) {
    res.destroy();
    if (error instanceof MayflyError) throw error;
    throw new UnavailableError('origin connection broke mid-piece', { cause: error, context: { retryAfterMs: 200 } });
  }
  if (writer.written !== writer.expectedLength) {
    throw new UnavailableError(`origin piece ended after ${writer.written} bytes`, { context: { retryAfterMs: 200 } });
  }
}

/**
 * What is wrong with the answer's framing, or undefined. A chunked answer has no
 * Content-Length: its 206 Content-Range must name exactly the bytes asked for,
 * and the bytes are counted as they arrive (the piece writer refuses more, and a
 * short piece fails after the body ends).
 */
function lengthMismatch(headers: IncomingHttpHeaders, status: number, start: number, expected: number): string | undefined {
  const declared = headers['content-length'];
  if (declared !== undefined && Number(declared) !== expected) return `${declared} bytes`;
  if (status !== 206) return undefined;
  const range = /^bytes (\d+)-(\d+)\//.exec(headers['content-range'] ?? '');
  if (!range) return declared === undefined ? 'a partial answer without Content-Range or Content-Length' : undefined;
  if (Number(range[1]) !== start || Number(range[2]) !== start + expected - 1) return `bytes ${range[1]}-${range[2]}`;
  return undefined;
}
