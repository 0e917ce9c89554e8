import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../http/http-json.ts';
import { HttpListener } from '../http/http-server.ts';
import type { RequestSigner } from '../control/sigv4-signer.ts';

/** Request bodies the manager API takes are small JSON documents. */
const MAX_BODY_BYTES = 1024 * 1024;
/** The manager's console and API: nothing else is forwarded. */
const FORWARDED_PATH = /^\/(console(\/.*)?|v1\/.*)$/;
const FORWARDED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE']);
/** Hop-by-hop or recomputed headers that are not passed back to the browser. */
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding']);

export interface ConsoleProxyOptions {
  /** The manager's base URL (its Function URL in AWS). */
  readonly managerUrl: string;
  /** Signs each forwarded request (SigV4 with the operator's AWS credentials). */
  readonly sign: RequestSigner;
  readonly host: string;
  readonly port: number;
}

/**
 * The operator's way into a deployed console: the manager's Function URL admits only
 * SigV4-signed requests, which a browser cannot make. This listens on loopback, serves
 * the console page and its /v1 calls by forwarding them to the manager, and signs each
 * one with the operator's own AWS credentials, so IAM decides who may operate Mayfly.
 */
export class ConsoleProxy {
  private readonly listener: HttpListener;
  private readonly base: string;

  constructor(private readonly options: ConsoleProxyOptions) {
    this.base = options.managerUrl.replace(/\/+$/, '');
    this.listener = new HttpListener((req, res) => void this.forward(req, res), { host: options.host, port: options.port });
  }

  start(): Promise<number> {
    return this.listener.start();
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = req.url ?? '/';
      const pathname = path.split('?')[0];
      if (pathname === '/') return reply(res, 302, Buffer.alloc(0), { location: '/console' });
      if (!FORWARDED_PATH.test(pathname)) return refuse(res, 404, 'NotFound', `only /console and /v1/* are forwarded, not ${pathname}`);
      if (!FORWARDED_METHODS.has(req.method ?? '')) return refuse(res, 405, 'MethodNotAllowed', `${req.method} is not forwarded`);
      const body = await readBody(req);
      if (body === undefined) return refuse(res, 413, 'PayloadTooLarge', `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
      const headers: Record<string, string> = {};
      // The page's own Authorization (a token for local stacks) is replaced by the signature.
      if (req.headers['content-type']) headers['content-type'] = req.headers['content-type'];
      const request = { method: req.method!, url: `${this.base}${path}`, headers, body: body.length ? body.toString('utf8') : undefined };
      let signed: Record<string, string>;
      try {
        signed = await this.options.sign(request);
      } catch (error) {
        return refuse(res, 503, 'Unavailable', `${(error as Error).message} (are AWS credentials and a region configured?)`);
      }
      const answer = await fetch(request.url, { method: request.method, headers: signed, body: request.body, redirect: 'manual' });
      const passed: Record<string, string> = {};
      answer.headers.forEach((value, name) => {
        if (!DROPPED_RESPONSE_HEADERS.has(name)) passed[name] = value;
      });
      reply(res, answer.status, Buffer.from(await answer.arrayBuffer()), passed);
    } catch (error) {
      refuse(res, 502, 'BadGateway', `could not reach the manager at ${this.base}: ${(error as Error).message}`);
    }
  }
}

/** The proxy's own answer, in the agent's usual JSON error shape. */
function refuse(res: ServerResponse, status: number, error: string, message: string): void {
  if (res.headersSent) return void res.destroy();
  sendJson(res, status, { error, message });
}

/** The manager's answer, passed on as it came. */
function reply(res: ServerResponse, status: number, body: Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-length': body.length });
  res.end(body);
}

/**
 * The whole body, or undefined if it passes the limit. An oversized body is still read
 * (and dropped) so the client gets the 413 rather than a reset connection.
 */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks);
}
