import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { isJsonType, localRequestGuard } from './local-request-guard.ts';

const request = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

describe('local request guard', () => {
  const guard = localRequestGuard('127.0.0.1', () => 7401, true);

  it('serves loopback names, with the port or none', () => {
    for (const host of ['127.0.0.1:7401', 'localhost:7401', '[::1]:7401', 'localhost', 'LOCALHOST:7401']) expect(guard.check(request({ host }))).toBeUndefined();
  });

  it('refuses other names, other ports and a missing Host (DNS rebinding)', () => {
    for (const host of ['evil.example:7401', 'evil.example', '127.0.0.1:7402', '127.0.0.2:7401', '']) expect(guard.check(request({ host }))?.status).toBe(403);
    expect(guard.check(request({}))?.status).toBe(403);
  });

  it('refuses a foreign Origin and serves its own', () => {
    expect(guard.check(request({ host: 'localhost:7401', origin: 'http://evil.example' }))?.status).toBe(403);
    expect(guard.check(request({ host: 'localhost:7401', origin: 'null' }))?.status).toBe(403);
    expect(guard.check(request({ host: 'localhost:7401', origin: 'https://localhost:7401' }))?.status).toBe(403);
    expect(guard.check(request({ host: 'localhost:7401', origin: 'http://localhost:7401' }))).toBeUndefined();
  });

  it('takes only JSON bodies where it must', () => {
    const body = { host: 'localhost:7401', 'content-length': '10' };
    expect(guard.check(request({ ...body, 'content-type': 'text/plain;application/json' }))?.status).toBe(415);
    expect(guard.check(request({ ...body, 'content-type': 'application/json; charset=utf-8' }))).toBeUndefined();
    expect(localRequestGuard('127.0.0.1', () => 7403, false).check(request({ host: 'localhost:7403', 'content-length': '5', 'content-type': 'text/plain' }))).toBeUndefined();
  });

  it('serves the configured api host, and any IP literal when it listens on all addresses', () => {
    expect(localRequestGuard('agent.internal', () => 7401, true).check(request({ host: 'agent.internal:7401' }))).toBeUndefined();
    const wildcard = localRequestGuard('0.0.0.0', () => 7401, true);
    expect(wildcard.check(request({ host: '10.0.3.7:7401' }))).toBeUndefined();
    expect(wildcard.check(request({ host: 'rebound.example:7401' }))?.status).toBe(403);
  });

  it('parses Content-Type exactly', () => {
    expect(isJsonType('application/json')).toBe(true);
    expect(isJsonType('Application/JSON ; charset="UTF-8"')).toBe(true);
    for (const type of [undefined, '', 'text/plain;application/json', 'application/json-patch+json', 'application/json; charset=latin1', 'application/json; a=b', 'application/jsonx']) {
      expect(isJsonType(type)).toBe(false);
    }
  });
});
