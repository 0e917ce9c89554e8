import { Agent, createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The local S3-compatible server (s3rver) keeps each object as files named
 * after the key's path segments plus a suffix of up to 22 bytes, and a file
 * name may hold 255 bytes. A longer segment made s3rver throw where nothing
 * catches it, which took the whole local stack down. This front refuses such
 * keys with an S3 error first and passes everything else through unchanged.
 */
export const LOCAL_S3_MAX_SEGMENT_BYTES = 255 - '._S3rver_metadata.json'.length;

export interface S3KeyGuard {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startS3KeyGuard(upstream: string): Promise<S3KeyGuard> {
  const target = new URL(upstream);
  // No idle sockets left to the upstream: its close() would wait for them.
  const agent = new Agent({ keepAlive: false });
  const server = createServer((req, res) => {
    const refusal = refusalOf(req.url ?? '/');
    if (refusal) {
      req.resume();
      sendError(res, 400, 'KeyTooLongError', refusal);
      return;
    }
    const forward = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => (res.headersSent ? res.destroy() : sendError(res, 500, 'InternalError', 'the local S3 server did not answer')));
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
      agent.destroy();
    }),
  };
}

/** Why the key of a path-style request cannot be stored here, or undefined. */
export function refusalOf(rawUrl: string): string | undefined {
  const path = rawUrl.split('?')[0];
  let key: string;
  try {
    key = decodeURIComponent(path.split('/').slice(2).join('/'));
  } catch {
    return undefined; // s3rver answers a malformed URI itself
  }
  const long = key.split('/').find((segment) => Buffer.byteLength(segment) > LOCAL_S3_MAX_SEGMENT_BYTES);
  if (!long) return undefined;
  return `The local S3-compatible server cannot store a key with a path segment over ${LOCAL_S3_MAX_SEGMENT_BYTES} bytes (this one has ${Buffer.byteLength(long)}); real S3 can.`;
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&amp;'));
}
