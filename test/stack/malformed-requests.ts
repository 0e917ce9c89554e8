/**
 * Seeded generator of malformed HTTP requests for the fuzz test. Every request
 * it yields is wrong in at least one way a server must reject with a 4xx, so
 * any 2xx/5xx answer is a bug. The seed makes a failure replayable.
 */
export interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer;
  /** What was broken, for the failure message. */
  readonly label: string;
}

const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '💥'.repeat(50),
  'ﷺ\u202e\u200b',
  '../../etc/passwd',
  '%2e%2e%2f%2e%2e%2f',
  '<script>alert(1)</script>',
  'x'.repeat(5000),
  's3://',
  's3://ab/x',
  's3://UPPER/key',
  'http://example.com/x',
  'file:///etc/passwd',
];
const ODD_VALUES: unknown[] = [null, true, false, -1, -1e308, 1e308, 1.5, 2 ** 60, [], {}, [1, 2], { $ne: 1 }, 'NaN', -0.0001];

export interface Endpoint {
  readonly method: string;
  readonly path: string;
  /** A valid body (or undefined), which the generator then breaks. */
  readonly body?: Record<string, unknown>;
  readonly headers?: Record<string, string>;
}

export function* malformedRequests(endpoints: readonly Endpoint[], count: number, random: () => number): Generator<FuzzRequest> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  for (let i = 0; i < count; i++) {
    const endpoint = pick(endpoints);
    const headers = { 'content-type': 'application/json', ...endpoint.headers };
    const kind = Math.floor(random() * 9);
    switch (kind) {
      case 0: {
        const valid = JSON.stringify(endpoint.body ?? { a: 1 });
        const cut = valid.slice(0, Math.max(1, Math.floor(random() * (valid.length - 1))));
        yield { method: postish(endpoint), path: endpoint.path, headers, body: cut, label: `truncated JSON ${cut}` };
        break;
      }
      case 1: {
        const bytes = Buffer.alloc(1 + Math.floor(random() * 200));
        for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
        bytes[0] = 0xff; // never valid UTF-8 JSON
        yield { method: postish(endpoint), path: endpoint.path, headers, body: bytes, label: 'random bytes' };
        break;
      }
      case 2: {
        const base = endpoint.body ?? { url: 's3://bucket/key' };
        const field = pick(Object.keys(base));
        const value = typeof base[field] === 'string' ? pick(ODD_VALUES) : pick([...ODD_STRINGS, ...ODD_VALUES.filter((v) => typeof v !== 'number' || v < 0 || !Number.isInteger(v) || v > 2 ** 53)]);
        yield { method: postish(endpoint), path: endpoint.path, headers, body: JSON.stringify({ ...base, [field]: value }), label: `field ${field}=${JSON.stringify(value)?.slice(0, 40)}` };
        break;
      }
      case 3: {
        const value = pick(ODD_STRINGS.filter((s) => s.length > 0));
        const base = endpoint.body ?? {};
        yield { method: postish(endpoint), path: endpoint.path, headers, body: JSON.stringify({ ...base, [pick(['url', 'peerId', 'output', 'digest', 'addr', 'name'])]: value, unexpected: value }), label: `odd string ${JSON.stringify(value).slice(0, 30)}` };
        break;
      }
      case 4: {
        const raw = pick(['..%2F..%2Fetc', '%zz', 'ABCDEF', '-1', '99999999999999999999', "'; DROP TABLE", '%00', 'g'.repeat(64), '💥']);
        // Bytes an HTTP client cannot put on the request line are percent-encoded, as a client would.
        const segment = raw.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
        const path = endpoint.path.replace(/[0-9a-f]{64}|\d+$/, segment);
        yield { method: endpoint.method, path: path === endpoint.path ? `${endpoint.path}/${segment}` : path, headers, body: endpoint.body ? JSON.stringify(endpoint.body) : undefined, label: `path segment ${segment}` };
        break;
      }
      case 5: {
        yield { method: endpoint.method, path: endpoint.path, headers: { ...headers, 'x-filler': 'y'.repeat(20_000 + Math.floor(random() * 10_000)) }, label: 'oversized header' };
        break;
      }
      case 6: {
        yield { method: postish(endpoint), path: endpoint.path, headers, body: JSON.stringify({ ...(endpoint.body ?? {}), pad: 'z'.repeat(300_000) }), label: 'oversized body' };
        break;
      }
      case 7: {
        yield { method: pick(['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE']), path: endpoint.path, headers, label: 'wrong method' };
        break;
      }
      default: {
        const value = pick(['[]', 'null', '"string"', '42', '{"a":' + '['.repeat(2000) + ']'.repeat(2000) + '}', '{"__proto__":{"x":1}}']);
        yield { method: postish(endpoint), path: endpoint.path, headers: { ...headers, 'content-type': pick(['application/json', 'text/plain', '']) }, body: value, label: `body ${value.slice(0, 30)}` };
      }
    }
  }
}

/** GET-only endpoints still get a body-bearing method, which is itself wrong. */
function postish(endpoint: Endpoint): string {
  return endpoint.body ? endpoint.method : 'POST';
}
