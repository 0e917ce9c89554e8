import { MayflyError, UnavailableError } from '../../core/errors.ts';
import { httpHeadOf } from '../../core/http-version.ts';
import type { HttpHeadReader, ObjectHead } from '../domain/origin.ts';

export interface HttpOriginReaderOptions {
  /** How long a HEAD may take (default 5 s). */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/**
 * The scheduler's one look at an HTTP(S) origin: a HEAD per task, redirects not
 * followed (the operator allowlisted this URL, not wherever it points), and the
 * version pinned to the strong ETag or to Last-Modified and length.
 */
export class HttpOriginReader implements HttpHeadReader {
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(options: HttpOriginReaderOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.fetch = options.fetch ?? fetch;
  }

  async head(url: string): Promise<ObjectHead> {
    let response: Response;
    try {
      response = await this.fetch(url, {
        method: 'HEAD',
        redirect: 'manual',
        // The length must be that of the bytes a ranged GET returns, not of a compressed form.
        headers: { 'accept-encoding': 'identity' },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const timedOut = (error as { name?: string }).name === 'TimeoutError';
      throw new UnavailableError(`${url}: origin ${timedOut ? `did not answer within ${this.timeoutMs} ms` : `unreachable (${describe(error)})`}`, {
        cause: error,
        context: { url, retryAfterMs: 1000 },
      });
    }
    return httpHeadOf(url, response.status, (name) => response.headers.get(name));
  }
}

function describe(error: unknown): string {
  if (error instanceof MayflyError) return error.message;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? 'error';
}
