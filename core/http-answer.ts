import { MayflyError, TooManyRequestsError, UnavailableError, httpStatusOf } from './errors.ts';

/** The JSON body every Mayfly server answers an error with. */
export interface ErrorBody {
  /** The typed error's code (`NotFound`, `Unavailable`, …; `Internal` for anything untyped). */
  readonly error: string;
  readonly message: string;
  /** `piece`: a peer lacks or is busy with this one piece, not the whole task. */
  readonly scope?: 'piece';
  /** With 503 and 429: how long to wait before trying again. */
  readonly retryAfterMs?: number;
}

export interface ErrorAnswer {
  readonly status: number;
  readonly body: ErrorBody;
  /** Lower-case header names (`retry-after` with every 503 and 429). */
  readonly headers: Readonly<Record<string, string>>;
  /** A bug or an unexpected failure here: log it with its cause; the body says only "internal error". */
  readonly internal: boolean;
}

/**
 * Names the AWS SDKs give throttling and outages of a dependency (DynamoDB, S3,
 * STS). Stores map them to UnavailableError; this catches one that slipped
 * through, so a throttle is never a 500.
 */
const DEPENDENCY_BUSY = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
]);

const DEFAULT_RETRY_AFTER_MS = 1_000;

/**
 * The one mapping from an error to the HTTP answer every Mayfly server gives:
 * the scheduler and manager (Hono), the agent's local API and peer server
 * (node:http). The agent's S3 endpoint maps the same statuses to S3's XML codes.
 */
export function errorAnswer(error: unknown): ErrorAnswer {
  if (error instanceof UnavailableError || isDependencyBusy(error)) {
    const retryAfterMs = error instanceof UnavailableError ? error.retryAfterMs : DEFAULT_RETRY_AFTER_MS;
    const message = error instanceof UnavailableError ? error.message : 'a dependency is busy or unavailable; try again';
    return {
      status: 503,
      body: { error: 'Unavailable', message, retryAfterMs, ...pieceScope(error) },
      headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
      internal: false,
    };
  }
  if (error instanceof TooManyRequestsError) {
    const retryAfterMs = error.retryAfterMs;
    return {
      status: 429,
      body: { error: error.code, message: error.message, retryAfterMs },
      headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
      internal: false,
    };
  }
  const status = httpStatusOf(error);
  if (!(error instanceof MayflyError) || status >= 500 && status !== 502 && status !== 507) {
    return { status: 500, body: { error: 'Internal', message: 'internal error' }, headers: {}, internal: true };
  }
  return { status, body: { error: error.code, message: error.message, ...pieceScope(error) }, headers: {}, internal: false };
}

function isDependencyBusy(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof MayflyError) return false;
  const throttling = (error as { $retryable?: { throttling?: boolean } }).$retryable?.throttling === true;
  return throttling || DEPENDENCY_BUSY.has(error.name);
}

function pieceScope(error: unknown): { scope?: 'piece' } {
  return error instanceof MayflyError && error.context.piece === true ? { scope: 'piece' } : {};
}
