import { ConflictError, MayflyError, UnavailableError } from '../../core/errors.ts';

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'InternalServerError',
  'ServiceUnavailable',
]);

export function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/** Maps a DynamoDB failure to a typed error the HTTP layer turns into 503 + retry hint. */
export function toStoreError(error: unknown, operation: string): MayflyError {
  if (error instanceof MayflyError) return error;
  const name = (error as { name?: string })?.name ?? 'Error';
  if (name === 'ConditionalCheckFailedException') {
    return new ConflictError(`${operation}: condition failed`, { cause: error, context: { operation } });
  }
  const retryAfterMs = THROTTLING.has(name) ? 1000 : 2000;
  return new UnavailableError(`state store unavailable during ${operation} (${name})`, {
    cause: error,
    context: { operation, retryAfterMs },
  });
}

export async function withStoreErrors<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toStoreError(error, operation);
  }
}
