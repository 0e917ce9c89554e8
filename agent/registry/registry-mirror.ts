import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../../core/log.ts';
import { registryBlobOf, registryBlobUrl } from '../../core/registry-blob.ts';
import { HttpListener } from '../http/http-server.ts';
import { localRequestGuard } from '../http/local-request-guard.ts';
import type { TaskManager } from '../task/task-manager.ts';
import { BlobReads } from './blob-reads.ts';
import { BlobDigestMismatchError, MismatchedBlobs } from './mismatched-blobs.ts';
import type { RegistryProofs } from './registry-proofs.ts';
import type { RegistryUpstreams } from './registry-upstreams.ts';

export interface RegistryMirrorOptions {
  readonly tasks: Pick<TaskManager, 'pull' | 'open' | 'forget'>;
  readonly proofs: RegistryProofs;
  readonly upstreams: RegistryUpstreams;
  readonly log: Logger;
  readonly host: string;
  readonly port: number;
  /** How long one request to the registry may take before its answer starts (default 30 s). */
  readonly upstreamTimeoutMs?: number;
}

/** Request headers a registry needs from the runtime; nothing else is sent on. */
const FORWARDED_REQUEST = ['authorization', 'accept', 'user-agent', 'range', 'if-none-match'];
/** Answer headers the runtime needs from the registry. */
const FORWARDED_ANSWER = [
  'content-type', 'content-length', 'content-range', 'docker-content-digest', 'docker-distribution-api-version',
  'www-authenticate', 'location', 'etag', 'accept-ranges', 'last-modified',
];
const ROUTE = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/;

/**
 * The OCI distribution pull API on the agent (`--registry-port`, loopback by default), for
 * containerd (`hosts.toml`), CRI-O, podman and skopeo (`registries.conf` mirrors). `/v2/`
 * and manifests go to the registry with the runtime's own Authorization and are never
 * shared. A blob GET asks the registry too, with the runtime's credentials: only when the
 * registry answers 307 (the host may read it) is the blob taken from the swarm, a task keyed
 * by its digest, with the 307 `Location` as this host's proof for the scheduler
 * (core/registry-blob.ts). Every other answer goes back as the registry gave it (401 with its
 * challenge, 404, …), and so does the 307 whenever the swarm or the control plane fails:
 * the runtime then reads the registry's storage itself.
 */
export class RegistryMirror {
  private listener?: HttpListener;
  private port = 0;
  private readonly blobs: BlobReads;
  private readonly mismatched = new MismatchedBlobs();

  constructor(private readonly options: RegistryMirrorOptions) {
    this.blobs = new BlobReads({ tasks: options.tasks, log: options.log });
  }

  async start(): Promise<number> {
    const guard = localRequestGuard(this.options.host, () => this.port, false);
    this.listener = new HttpListener((req, res) => {
      const refusal = guard.check(req);
      if (refusal) return sendRegistryError(res, refusal.status, 'DENIED', refusal.message);
      this.handle(req, res).catch((error) => {
        this.options.log.warn('registry mirror request failed', { url: req.url, error });
        if (!res.headersSent) sendRegistryError(res, 502, 'UNAVAILABLE', 'the mirror could not reach the registry');
        else res.destroy();
      });
    }, { host: this.options.host, port: this.options.port });
    this.port = await this.listener.start();
    return this.port;
  }

  async stop(): Promise<void> {
    await this.listener?.stop();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return sendRegistryError(res, 405, 'UNSUPPORTED', 'this mirror serves pulls only (GET and HEAD)');
    const url = new URL(req.url ?? '/', 'http://mirror');
    if (url.pathname === '/v1/health') return sendHealth(res);
    const upstream = this.options.upstreams.resolve(url.searchParams.get('ns'));
    if (!upstream) return sendRegistryError(res, 404, 'NAME_UNKNOWN', 'no registry named: send ?ns=<registry host> or configure a _default --registry-upstream');
    if (url.pathname === '/v2' || url.pathname === '/v2/') return this.passThrough(req, res, `${upstream}/v2/`);
    const route = ROUTE.exec(url.pathname);
    if (!route) return sendRegistryError(res, 404, 'UNSUPPORTED', 'not an OCI distribution pull route');
    const [, name, kind, reference] = route;
    if (kind === 'manifests') {
      if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$|^sha256:[a-f0-9]{64}$/.test(reference)) return sendRegistryError(res, 400, 'MANIFEST_INVALID', 'malformed tag or digest');
      return this.passThrough(req, res, `${upstream}/v2/${name}/manifests/${reference}`);
    }
    const blob = registryBlobOf(`${upstream}/v2/${name}/blobs/${reference}`);
    if (!blob) return sendRegistryError(res, 400, 'DIGEST_INVALID', 'blobs are named sha256:<64 hex> under a valid repository name');
    const taskUrl = registryBlobUrl(blob);
    if (method === 'HEAD') return this.passThrough(req, res, taskUrl);
    const answer = await this.upstream(req, taskUrl);
    const location = answer.headers.get('location');
    if (answer.status !== 307 || !location) return this.relay(answer, method, res);
    // The registry let this host in: its Location is the proof the scheduler checks.
    await answer.body?.cancel().catch(() => {});
    if (this.mismatched.has(taskUrl)) {
      this.options.log.warn('registry blob did not match its digest lately: answering with the registry\'s redirect, not pulling it again', { digest: blob.digest });
      return sendRedirect(res, location);
    }
    this.options.proofs.remember(taskUrl, new URL(location, taskUrl).href);
    const range = headerOf(req, 'range');
    try {
      const read = await this.blobs.serve(taskUrl, blob.digest, range, 'GET', res);
      this.options.log.info('registry blob served from the swarm', {
        digest: blob.digest, repository: blob.repository, status: read.status, bytes: read.bytes, range,
        bytesFromPeers: read.pull?.bytesFromPeers, bytesFromOrigin: read.pull?.bytesFromOrigin,
      });
    } catch (error) {
      if (res.headersSent) throw error;
      // The storage's bytes are wrong, not the swarm: the runtime's next try gets the registry's answer at once.
      if (error instanceof BlobDigestMismatchError) this.mismatched.remember(taskUrl);
      this.options.log.warn('registry blob: the swarm failed; answering with the registry\'s redirect', { digest: blob.digest, error });
      sendRedirect(res, location);
    }
  }

  private upstream(req: IncomingMessage, target: string): Promise<Response> {
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    for (const name of FORWARDED_REQUEST) {
      const value = headerOf(req, name);
      if (value !== undefined) headers[name] = value;
    }
    return fetch(target, { method: req.method, headers, redirect: 'manual', signal: AbortSignal.timeout(this.options.upstreamTimeoutMs ?? 30_000) });
  }

  private async passThrough(req: IncomingMessage, res: ServerResponse, target: string): Promise<void> {
    return this.relay(await this.upstream(req, target), req.method ?? 'GET', res);
  }

  private async relay(answer: Response, method: string, res: ServerResponse): Promise<void> {
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_ANSWER) {
      const value = answer.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    res.writeHead(answer.status, headers);
    if (method === 'HEAD' || !answer.body) {
      await answer.body?.cancel().catch(() => {});
      res.end();
      return;
    }
    await pipeline(Readable.fromWeb(answer.body as import('node:stream/web').ReadableStream), res);
  }
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function sendRedirect(res: ServerResponse, location: string): void {
  res.writeHead(307, { location, 'content-length': '0' });
  res.end();
}

function sendHealth(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
}

/** The OCI distribution error body. */
export function sendRegistryError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ errors: [{ code, message }] });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}
