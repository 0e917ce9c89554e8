import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { namingUrlOnce } from './stream-object.ts';

describe('exit codes and messages', () => {
  it('an object that kept changing, or a busy agent, is "unavailable" (6): worth trying again', () => {
    expect(exitCodeFor('OriginChanged')).toBe(EXIT.unavailable);
    expect(exitCodeFor('TooManyRequests')).toBe(EXIT.unavailable);
    expect(exitCodeFor('Internal')).toBe(EXIT.failure);
  });

  it('names the URL once', () => {
    expect(namingUrlOnce('s3://b/k', 's3://b/k: no such object')).toBe('s3://b/k: no such object');
    expect(namingUrlOnce('s3://b/k', 'cancelled')).toBe('s3://b/k: cancelled');
  });
});
