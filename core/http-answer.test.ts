import { describe, expect, it } from 'vitest';
import { ForbiddenError, NotFoundError, StorageError, TooManyRequestsError, UnavailableError } from './errors.ts';
import { errorAnswer } from './http-answer.ts';

describe('errorAnswer', () => {
  it('answers typed errors with their status, code and message', () => {
    expect(errorAnswer(new NotFoundError('no such object'))).toEqual({
      status: 404,
      body: { error: 'NotFound', message: 'no such object' },
      headers: {},
      internal: false,
    });
    expect(errorAnswer(new ForbiddenError('outside the allowlist')).status).toBe(403);
    expect(errorAnswer(new StorageError('disk full')).status).toBe(507);
  });

  it('marks a piece-level answer so a child asks this parent for other pieces', () => {
    expect(errorAnswer(new NotFoundError('piece 3 is not here', { context: { piece: true } })).body.scope).toBe('piece');
  });

  it('gives every 503 a Retry-After in whole seconds, at least 1', () => {
    const slow = errorAnswer(new UnavailableError('busy', { context: { retryAfterMs: 2_500 } }));
    expect(slow.status).toBe(503);
    expect(slow.headers['retry-after']).toBe('3');
    expect(slow.body.retryAfterMs).toBe(2_500);
    expect(errorAnswer(new UnavailableError('busy', { context: { retryAfterMs: 10 } })).headers['retry-after']).toBe('1');
  });

  it('answers a per-identity limit with 429 and a Retry-After', () => {
    const over = errorAnswer(new TooManyRequestsError('too many tasks', { context: { retryAfterMs: 40_200 } }));
    expect(over).toMatchObject({ status: 429, body: { error: 'TooManyRequests', retryAfterMs: 40_200 }, headers: { 'retry-after': '41' } });
  });

  it('turns an AWS SDK throttle or outage that escaped its store into 503, never 500', () => {
    for (const name of ['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'InternalServerError']) {
      const error = Object.assign(new Error('rate exceeded'), { name });
      const answer = errorAnswer(error);
      expect(answer.status, name).toBe(503);
      expect(answer.headers['retry-after']).toBe('1');
    }
    const retryable = Object.assign(new Error('throttled'), { name: 'SomethingNew', $retryable: { throttling: true } });
    expect(errorAnswer(retryable).status).toBe(503);
  });

  it('hides the details of anything untyped behind a 500 to be logged', () => {
    const answer = errorAnswer(new TypeError('x is undefined'));
    expect(answer).toEqual({ status: 500, body: { error: 'Internal', message: 'internal error' }, headers: {}, internal: true });
  });
});
