import { BadRequestError, ForbiddenError, NotFoundError, UnavailableError } from '../../core/errors.ts';
import { strongEtag } from '../../core/http-version.ts';
import type { ObjectHead } from '../domain/origin.ts';
import type { RegistryProofReader } from '../domain/registry.ts';

export interface HttpRegistryProofReaderOptions {
  /** How long one check may take (default 5 s). */
  readonly timeoutMs?: number;
  /** Checked proofs are remembered this long (default 60 s): a pull announces the same proof again and again. */
  readonly cacheMs?: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

/** Proofs remembered at most. */
const CACHE_ENTRIES = 4096;

/**
 * Checks a proof with a one-byte ranged GET (redirects not followed). A GET, not a HEAD:
 * the registry presigned the URL for GET, and S3 checks the method as part of the signature.
 * The answer gives the size (Content-Range) and the object's ETag, which pins the task.
 */
export class HttpRegistryProofReader implements RegistryProofReader {
  private readonly checked = new Map<string, { head: ObjectHead; at: number }>();
  private readonly timeoutMs: number;
  private readonly cacheMs: number;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;

  constructor(options: HttpRegistryProofReaderOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.cacheMs = options.cacheMs ?? 60_000;
    this.fetch = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  async read(proofUrl: string): Promise<ObjectHead> {
    const cached = this.checked.get(proofUrl);
    // Remembered no longer than the proof is valid: an expired proof admits no one.
    if (cached && this.now() - cached.at < this.cacheMs && this.now() < (presignedExpiry(proofUrl) ?? Infinity)) return cached.head;
    const head = await this.fetchHead(proofUrl);
    if (this.checked.size >= CACHE_ENTRIES) this.checked.delete(this.checked.keys().next().value as string);
    this.checked.set(proofUrl, { head, at: this.now() });
    return head;
  }

  private async fetchHead(url: string): Promise<ObjectHead> {
    let response: Response;
    try {
      response = await this.fetch(url, {
        redirect: 'manual',
        headers: { range: 'bytes=0-0', 'accept-encoding': 'identity' },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new UnavailableError(`registry proof: storage unreachable (${(error as Error).message})`, { cause: error, context: { retryAfterMs: 1000 } });
    }
    await response.body?.cancel().catch(() => {});
    const status = response.status;
    if (status === 401 || status === 403 || status === 400) throw new ForbiddenError(`registry proof refused by the registry's storage (${status}): expired or not signed by the registry`);
    if (status === 404) throw new NotFoundError('registry proof names no object');
    if (status >= 500 || status === 429) throw new UnavailableError(`registry proof: storage answered ${status}`, { context: { retryAfterMs: 1000 } });
    if (status !== 206 && status !== 200) throw new ForbiddenError(`registry proof: storage answered ${status}`);
    const total = status === 206 ? /\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1] : response.headers.get('content-length');
    const size = Number(total);
    if (total === undefined || total === null || !Number.isSafeInteger(size)) throw new BadRequestError('registry proof: storage gave no object size');
    const etag = strongEtag(response.headers.get('etag') ?? undefined);
    if (!etag) throw new BadRequestError('registry proof: storage gave no strong ETag to pin the blob to');
    return { size, etag };
  }
}

/**
 * When a presigned URL stops working, in ms since the epoch: SigV4's `X-Amz-Date` plus
 * `X-Amz-Expires`, or SigV2's `Expires`. Undefined when the URL says neither.
 */
export function presignedExpiry(url: string): number | undefined {
  let query: URLSearchParams;
  try {
    query = new URL(url).searchParams;
  } catch {
    return undefined;
  }
  const param = (name: string) => [...query].find(([key]) => key.toLowerCase() === name)?.[1];
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(param('x-amz-date') ?? '');
  const expires = Number(param('x-amz-expires'));
  if (date && Number.isSafeInteger(expires)) {
    const [, y, mo, d, h, mi, sec] = date.map(Number);
    return Date.UTC(y, mo - 1, d, h, mi, sec) + expires * 1000;
  }
  const v2 = Number(param('expires'));
  return param('expires') !== undefined && Number.isSafeInteger(v2) ? v2 * 1000 : undefined;
}
