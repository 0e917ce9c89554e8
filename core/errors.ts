/**
 * Typed errors shared by every part of Mayfly. Each carries a stable `code`
 * and free-form `context`; the HTTP layers map them to status codes in one place.
 */
export interface ErrorContext {
  readonly [key: string]: unknown;
}

export class MayflyError extends Error {
  readonly code: string = 'Internal';
  readonly context: ErrorContext;

  constructor(message: string, options: { cause?: unknown; context?: ErrorContext } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.context = options.context ?? {};
  }
}

/** The request is malformed: a client bug or a bad command line. */
export class BadRequestError extends MayflyError {
  override readonly code = 'BadRequest';
}

/** The caller may not do this (allowlist, credential, wrong back-to-source holder). */
export class ForbiddenError extends MayflyError {
  override readonly code = 'Forbidden';
}

/** The caller did not authenticate. */
export class UnauthorizedError extends MayflyError {
  override readonly code = 'Unauthorized';
}

/** The object, task or piece does not exist. */
export class NotFoundError extends MayflyError {
  override readonly code = 'NotFound';
}

/** A write lost a race or contradicts what is stored (e.g. a different digest). */
export class ConflictError extends MayflyError {
  override readonly code = 'Conflict';
}

/** Bytes did not match their digest. */
export class IntegrityError extends MayflyError {
  override readonly code = 'IntegrityFailure';
}

/** A dependency is down or throttling; retry after `retryAfterMs`. */
export class UnavailableError extends MayflyError {
  override readonly code = 'Unavailable';
  get retryAfterMs(): number {
    const value = this.context.retryAfterMs;
    return typeof value === 'number' ? value : 1000;
  }
}

/** The caller is over a per-identity limit; try again after `retryAfterMs`. */
export class TooManyRequestsError extends MayflyError {
  override readonly code = 'TooManyRequests';
  get retryAfterMs(): number {
    const value = this.context.retryAfterMs;
    return typeof value === 'number' ? value : 1000;
  }
}

/** The origin object changed while it was being read. */
export class OriginChangedError extends MayflyError {
  override readonly code = 'OriginChanged';
}

/** The request body or headers are too large. */
export class PayloadTooLargeError extends MayflyError {
  override readonly code = 'PayloadTooLarge';
}

/** Local disk trouble: full, not writable, missing folder. */
export class StorageError extends MayflyError {
  override readonly code = 'StorageFailure';
}

export const HTTP_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  OriginChanged: 409,
  PayloadTooLarge: 413,
  TooManyRequests: 429,
  IntegrityFailure: 422,
  PeerTransferFailed: 502,
  StorageFailure: 507,
  Unavailable: 503,
  Internal: 500,
};

export function httpStatusOf(error: unknown): number {
  if (error instanceof MayflyError) return HTTP_STATUS_BY_CODE[error.code] ?? 500;
  return 500;
}

/** Rebuilds a typed error from a wire `{ error, message }` body. */
export function errorFromWire(status: number, body: unknown, fallback: string): MayflyError {
  const record = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const message = typeof record.message === 'string' ? record.message : fallback;
  const context = { status, ...(typeof record.context === 'object' && record.context ? record.context : {}) };
  switch (record.error ?? '') {
    case 'BadRequest': return new BadRequestError(message, { context });
    case 'Unauthorized': return new UnauthorizedError(message, { context });
    case 'Forbidden': return new ForbiddenError(message, { context });
    case 'NotFound': return new NotFoundError(message, { context });
    case 'Conflict': return new ConflictError(message, { context });
    case 'OriginChanged': return new OriginChangedError(message, { context });
    case 'IntegrityFailure': return new IntegrityError(message, { context });
    case 'PayloadTooLarge': return new PayloadTooLargeError(message, { context });
    case 'TooManyRequests': return new TooManyRequestsError(message, { context });
    case 'StorageFailure': return new StorageError(message, { context });
    default:
      if (status === 400) return new BadRequestError(message, { context });
      if (status === 401) return new UnauthorizedError(message, { context });
      if (status === 403) return new ForbiddenError(message, { context });
      if (status === 404) return new NotFoundError(message, { context });
      return new UnavailableError(message, { context });
  }
}
