import { ForbiddenError, MayflyError, NotFoundError, OriginChangedError, UnavailableError } from '../../core/errors.ts';
import { memberSpans, type MemberSpan, type PackMember } from '../../core/pack.ts';
import type { PieceWriter } from '../cache/piece-writer.ts';

/**
 * The presigned member URLs of a pack's back-to-source holder travel as one string
 * (the grant's URL slot), joined by this: no URL holds a newline.
 */
export const PACK_URL_SEPARATOR = '\n';

/** Bytes [start, end) of one member, pinned to its ETag. */
export type MemberRead = (member: PackMember, index: number, start: number, end: number, signal?: AbortSignal) => Promise<AsyncIterable<Uint8Array>>;

/** Member reads of one piece at once: a 4 MiB piece of 64 KiB objects is 64 GETs, each mostly latency. */
const MEMBER_READS_AT_ONCE = 8;

/**
 * One piece of a pack (core/pack.ts): the members' bytes it covers, each read pinned to the
 * member's listed ETag (a member changed since answers 412: OriginChangedError, never other
 * bytes), up to MEMBER_READS_AT_ONCE at a time, and written into the piece writer in member
 * order (it hashes the whole piece). At most one piece's bytes are held.
 */
export async function readPackPiece(members: readonly PackMember[], writer: PieceWriter, read: MemberRead, signal?: AbortSignal): Promise<void> {
  const spans = memberSpans(members, writer.range.start, writer.range.end);
  const stop = new AbortController();
  const abort = () => stop.abort(signal?.reason);
  signal?.addEventListener('abort', abort, { once: true });
  const reads: Promise<Buffer>[] = [];
  const startNext = () => {
    const span = spans[reads.length];
    if (!span) return;
    const reading = readSpan(members[span.index], span, read, stop.signal);
    reading.catch(() => {}); // awaited in order below; one failing early must not go unhandled
    reads.push(reading);
  };
  try {
    for (let i = 0; i < MEMBER_READS_AT_ONCE; i++) startNext();
    for (let i = 0; i < spans.length; i++) {
      const bytes = await reads[i];
      startNext();
      const wait = writer.write(bytes);
      if (wait) await wait;
    }
  } finally {
    signal?.removeEventListener('abort', abort);
    stop.abort(); // a failed piece stops its other reads
  }
}

async function readSpan(member: PackMember, span: MemberSpan, read: MemberRead, signal: AbortSignal): Promise<Buffer> {
  const want = span.end - span.start;
  const chunks: Buffer[] = [];
  let got = 0;
  try {
    for await (const chunk of await read(member, span.index, span.start, span.end, signal)) {
      got += chunk.byteLength;
      if (got > want) throw new UnavailableError(`${member.key}: origin sent more than the ${want} bytes asked for`, { context: { retryAfterMs: 200 } });
      chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
  } catch (error) {
    if (error instanceof MayflyError) throw error;
    throw new UnavailableError(`${member.key}: connection broke mid-piece`, { cause: error, context: { retryAfterMs: 200 } });
  }
  if (got !== want) throw new UnavailableError(`${member.key}: origin sent ${got} of ${want} bytes`, { context: { retryAfterMs: 200 } });
  return Buffer.concat(chunks, got);
}

/** A member read through the holder's presigned GET of that member (the `index`-th URL). */
export function presignedMemberRead(urls: readonly string[]): MemberRead {
  return async (member, index, start, end, signal) => {
    const url = urls[index];
    if (!url) throw new UnavailableError('no presigned URL for this pack member yet', { context: { retryAfterMs: 500 } });
    let response: Response;
    try {
      response = await fetch(url, { headers: { range: `bytes=${start}-${end - 1}`, 'if-match': member.etag }, signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(30_000)]) : AbortSignal.timeout(30_000) });
    } catch (error) {
      throw new UnavailableError(`${member.key}: origin request failed (${(error as Error).message})`, { cause: error, context: { retryAfterMs: 500 } });
    }
    if (response.status !== 206 && !(response.status === 200 && start === 0 && end === member.size)) {
      await response.body?.cancel().catch(() => {});
      throw memberError(member, response.status);
    }
    const etag = response.headers.get('etag');
    if (etag && etag !== member.etag) {
      await response.body?.cancel().catch(() => {});
      throw new OriginChangedError(`${member.key} changed since the tree was listed (ETag ${etag}, pack has ${member.etag})`);
    }
    if (!response.body) throw new UnavailableError(`${member.key}: empty answer`, { context: { retryAfterMs: 200 } });
    return response.body as unknown as AsyncIterable<Uint8Array>;
  };
}

function memberError(member: PackMember, status: number): MayflyError {
  if (status === 412) return new OriginChangedError(`${member.key} changed since the tree was listed (its ETag no longer matches)`);
  if (status === 404) return new NotFoundError(`${member.key}: the object is gone`);
  if (status === 401) return new ForbiddenError(`${member.key}: origin refused the presigned URL`);
  // An expired URL is refreshed by the next announce, so 403 is worth a retry.
  return new UnavailableError(`${member.key}: origin answered ${status}`, { context: { retryAfterMs: status === 403 ? 1000 : 500 } });
}
