import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface StaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/**
 * Recomputes a received request's SigV4 signature (service `lambda`) from what actually
 * arrived, with the AWS SDK's own SignatureV4, and compares: what a Function URL with
 * AWS_IAM auth does before it lets a request through.
 */
export async function verifySigV4(request: ReceivedRequest, region: string, credentials: StaticCredentials): Promise<boolean> {
  const url = new URL(request.url);
  const authorization = request.headers.authorization ?? '';
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
  const amzDate = request.headers['x-amz-date'];
  if (!amzDate || signedHeaders.length === 0) return false;
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) headers[name] = name === 'host' ? url.host : request.headers[name] ?? '';
  // The payload hash is recomputed from the body received, never taken on trust.
  delete headers['x-amz-content-sha256'];
  const query: Record<string, string> = {};
  url.searchParams.forEach((value, key) => (query[key] = value));
  const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13)}`);
  const expected = await new SignatureV4({ service: 'lambda', region, credentials, sha256: Sha256 }).sign(
    new HttpRequest({ method: request.method, protocol: url.protocol, hostname: url.hostname, port: url.port ? Number(url.port) : undefined, path: url.pathname, query, headers, body: request.body }),
    { signingDate },
  );
  return expected.headers.authorization === authorization;
}

/**
 * Stands where a Function URL with AWS_IAM auth stands: admits only requests signed by
 * `credentials` (403 otherwise, as Lambda answers) and passes them to a real local server.
 */
export async function startIamFront(options: { target: string; targetToken: string; region: string; credentials: StaticCredentials }) {
  const counts = { admitted: 0, refused: 0 };
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length ? Buffer.concat(chunks).toString('utf8') : undefined;
    const received = { method: req.method!, url: `http://${req.headers.host}${req.url}`, headers: req.headers as Record<string, string>, body };
    if (!(await verifySigV4(received, options.region, options.credentials))) {
      counts.refused++;
      res.writeHead(403, { 'content-type': 'application/json' }).end('{"Message":"Forbidden"}');
      return;
    }
    counts.admitted++;
    const headers: Record<string, string> = { authorization: `Bearer ${options.targetToken}` };
    if (req.headers['content-type']) headers['content-type'] = req.headers['content-type'];
    const answer = await fetch(`${options.target}${req.url}`, { method: req.method, headers, body });
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/octet-stream' });
    res.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
