import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultKind =
  /** 503 with S3's SlowDown error body. */
  | 'slowdown'
  /** 500 with a JSON error body (a failing control plane). */
  | 'error500'
  /** The connection is dropped before any answer (a process that is down). */
  | 'reset'
  /** The answer starts, then the connection breaks halfway through the body. */
  | 'reset-midway';

export interface Fault {
  readonly kind: FaultKind;
  /** Inject on every n-th request it targets (1 = all). */
  readonly every?: number;
  /** Only on requests whose path starts with this (e.g. one scheduler route); others pass. */
  readonly pathPrefix?: string;
  /** At most this many injections, counted from setFault (default: no limit). */
  readonly limit?: number;
}

export interface CountingProxy {
  readonly endpoint: string;
  /** Response body bytes the upstream sent through this proxy. */
  readonly bytesOut: () => number;
  readonly requests: () => number;
  /** Requests with this method (and a path starting with `pathPrefix`, query left out), e.g. S3 GETs or scheduler announces. */
  readonly requestsBy: (method: string, pathPrefix?: string) => number;
  readonly faultsInjected: () => number;
  setFault(fault: Fault | undefined): void;
  reset(): void;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of a real server (the S3-compatible server, or the
 * scheduler) that counts the bytes it serves — so origin egress is measured at
 * the S3 side, not reported by agents — and can inject faults for real.
 * It listens on `host` (default 127.0.0.1) and `port` (default: any free one).
 */
export async function startCountingProxy(target: string, host = '127.0.0.1', port = 0): Promise<CountingProxy> {
  const upstream = new URL(target);
  let bytes = 0;
  let count = 0;
  let injected = 0;
  /** Counted from setFault: requests the fault targets, and faults injected. */
  let matchedForFault = 0;
  let injectedForFault = 0;
  let seen: string[] = [];
  let fault: Fault | undefined;
  const server: Server = createServer((req, res) => {
    count++;
    const path = (req.url ?? '').split('?')[0]!;
    seen.push(`${req.method} ${path}`);
    const targeted = fault !== undefined && path.startsWith(fault.pathPrefix ?? '');
    if (targeted) matchedForFault++;
    const active = fault && targeted && matchedForFault % (fault.every ?? 1) === 0 && injectedForFault < (fault.limit ?? Infinity) ? fault.kind : undefined;
    if (active) {
      injected++;
      injectedForFault++;
    }
    if (active === 'reset') {
      req.socket.destroy();
      return;
    }
    if (active === 'slowdown') {
      res.writeHead(503, { 'content-type': 'application/xml', 'retry-after': '1' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      return;
    }
    if (active === 'error500') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"Internal","message":"injected fault"}');
      return;
    }
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        const length = Number(answer.headers['content-length'] ?? 0);
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (active === 'reset-midway' && sent + chunk.length > length / 2) {
            answer.destroy();
            res.socket?.destroy();
            return;
          }
          sent += chunk.length;
          bytes += chunk.length;
          if (!res.write(chunk)) {
            answer.pause();
            res.once('drain', () => answer.resume());
          }
        });
        answer.on('end', () => res.end());
        answer.on('error', () => res.destroy());
      },
    );
    forward.on('error', () => res.destroy());
    req.on('error', () => forward.destroy());
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://${host}:${bound}`,
    bytesOut: () => bytes,
    requests: () => count,
    requestsBy: (method, pathPrefix = '') => seen.filter((line) => line.startsWith(`${method} ${pathPrefix}`)).length,
    faultsInjected: () => injected,
    setFault: (next) => {
      fault = next;
      matchedForFault = 0;
      injectedForFault = 0;
    },
    reset: () => {
      bytes = 0;
      count = 0;
      injected = 0;
      seen = [];
    },
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
