import { ConflictError, MayflyError, UnavailableError } from '../../core/errors.ts';

/**
 * The one mapping from DynamoDB's failures to typed errors, used by every store:
 * a failed condition is a ConflictError (or, through conditionalWrite, a plain
 * "not written" result), a throttle or outage is an UnavailableError carrying
 * retryAfterMs, which the HTTP layer answers with 503 and Retry-After.
 */

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'InternalServerError',
  'ServiceUnavailable',
]);

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/** Maps a DynamoDB failure to a typed error the HTTP layer turns into 409, or 503 + retry hint. */
export function toStoreError(error: unknown, operation: string): MayflyError {
  if (error instanceof MayflyError) return error;
  const name = (error as { name?: string })?.name ?? 'Error';
  if (isConditionFailure(error)) {
    return new ConflictError(`${operation}: condition failed`, { cause: error, context: { operation } });
  }
  const retryAfterMs = THROTTLING.has(name) ? 1000 : 2000;
  return new UnavailableError(`state store unavailable during ${operation} (${name})`, {
    cause: error,
    context: { operation, retryAfterMs },
  });
}

/** Runs one store call; a failed condition throws ConflictError, anything else as toStoreError maps it. */
export async function withStoreErrors<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toStoreError(error, operation);
  }
}

/**
 * Runs a conditional write: its output, or undefined when the condition did not
 * hold (a lost race, an expired item: an answer, not an error). Anything else
 * throws as toStoreError maps it.
 */
export async function conditionalWrite<T>(operation: string, write: () => Promise<T>): Promise<T | undefined> {
  try {
    return await write();
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw toStoreError(error, operation);
  }
}
