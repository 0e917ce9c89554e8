import { describe, expect, it } from 'vitest';
import { BadRequestError, errorFromWire, httpStatusOf, NotFoundError, UnavailableError } from '../errors.ts';
import { parseWith } from './parse.ts';
import { announceRequestSchema } from './scheduler.ts';

const valid = { url: 's3://bucket/key', peerId: 'agent-1', addr: 'http://10.0.0.1:7402', event: 'register' };

describe('announce schema', () => {
  it('accepts a well-formed announce', () => {
    expect(parseWith(announceRequestSchema, valid, 'announce')).toMatchObject(valid);
  });

  it('names the bad field', () => {
    expect(() => parseWith(announceRequestSchema, { ...valid, event: 'bogus' }, 'announce')).toThrow(/invalid announce: event/);
    expect(() => parseWith(announceRequestSchema, { ...valid, completed: -1 }, 'announce')).toThrow(/completed/);
    expect(() => parseWith(announceRequestSchema, { ...valid, peerId: '../etc' }, 'announce')).toThrow(/peerId/);
    expect(() => parseWith(announceRequestSchema, { ...valid, addr: 'file:///x' }, 'announce')).toThrow(/addr/);
    expect(() => parseWith(announceRequestSchema, { ...valid, extra: 1 }, 'announce')).toThrow(/invalid announce/);
    expect(() => parseWith(announceRequestSchema, 'nope', 'announce')).toThrow(BadRequestError);
  });
});

describe('errors', () => {
  it('map to HTTP statuses and back', () => {
    expect(httpStatusOf(new NotFoundError('x'))).toBe(404);
    expect(httpStatusOf(new UnavailableError('x'))).toBe(503);
    expect(httpStatusOf(new Error('x'))).toBe(500);
    const rebuilt = errorFromWire(404, { error: 'NotFound', message: 'gone' }, 'fallback');
    expect(rebuilt).toBeInstanceOf(NotFoundError);
    expect(rebuilt.message).toBe('gone');
    expect(errorFromWire(502, 'garbage', 'fallback')).toBeInstanceOf(UnavailableError);
  });

  it('keep name, cause and context', () => {
    const cause = new Error('root');
    const error = new NotFoundError('missing', { cause, context: { key: 'k' } });
    expect(error.name).toBe('NotFoundError');
    expect(error.cause).toBe(cause);
    expect(error.context).toEqual({ key: 'k' });
  });
});
