import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpListener } from '../http/http-server.ts';
import { z } from 'zod';
import { BadRequestError, ForbiddenError, MayflyError, NotFoundError, OriginChangedError } from '../../core/errors.ts';
import { localRequestGuard } from '../http/local-request-guard.ts';
import { errorAnswer } from '../../core/http-answer.ts';
import type { Logger } from '../../core/log.ts';
import { packRequestSchema, type PackRequest } from '../../core/wire/pack.ts';
import { isPackUrl, parsePackUrl } from '../../core/pack.ts';
import { parseWith } from '../../core/wire/parse.ts';
import { canonicalOriginUrl, parseUserUrl } from '../../core/origin-url.ts';
import { registryBlobOf } from '../../core/registry-blob.ts';
import { parseByteRange, type ByteRange } from '../../core/piece-math.ts';
import { SwarmResponse } from '../../core/wire/scheduler.ts';
import { sendRange } from './range-reader.ts';
import { readJsonBody, sendError, sendJson } from '../http/http-json.ts';
import type { PieceStore } from '../cache/piece-store.ts';
import type { PullProgress, TaskManager } from '../task/task-manager.ts';
import type { CacheJanitor } from '../task/cache-janitor.ts';
import { assertTaskId } from '../../core/task-id.ts';
import type { TreeListing } from './tree-listing.ts';

const pullRequestSchema = z.strictObject({
  url: z.string().min(1).max(2048),
  /** Pins a version of an s3:// object (as `aws s3 cp --version-id`). */
  versionId: z.string().min(1).max(1024).optional(),
});

/**
 * The canonical URL of what a caller names: `s3://` keys literally, plus an optional versionId.
 * ForbiddenError for a registry blob: any local user may call this API, and a blob is served only
 * to a caller the registry lets in, which the mirror asks with the caller's credentials each time.
 */
function targetOf(url: string, versionId: string | undefined): string {
  // A pack's URL (POST /v1/packs answers it) names its bytes as they are: pinned, nothing to canonicalise.
  if (isPackUrl(url) && versionId === undefined) return parsePackUrl(url) && url;
  const target = canonicalOriginUrl(parseUserUrl(url, versionId));
  if (registryBlobOf(target)) {
    throw new ForbiddenError('registry blobs are served only through the registry mirror, which asks the registry with your credentials for each request');
  }
  return target;
}

/** The `url` (and `versionId`) query parameters of GET /v1/objects and /v1/stat. */
function queryTarget(url: URL): string {
  const target = url.searchParams.get('url');
  if (!target) throw new BadRequestError('query parameter url is required');
  return targetOf(target, url.searchParams.get('versionId') ?? undefined);
}

export interface LocalApiOptions {
  readonly tasks: TaskManager;
  readonly store: PieceStore;
  readonly log: Logger;
  readonly host: string;
  readonly port: number;
  /** Prometheus text at GET /metrics (the agent's metrics, agent/metrics.ts). */
  readonly metrics?: { render(): string };
  /** Disk cache quota and eviction, for /v1/cache (`mayfly cache`). */
  readonly cache?: CacheJanitor;
  /** The scheduler's view of a URL's swarm, for GET /v1/stat (`mayfly stat`). */
  readonly swarm?: (url: string) => Promise<SwarmResponse>;
  /** A whole prefix listed through the control plane, for GET /v1/listings (`mayfly get -r`). */
  readonly listTree?: (url: string) => Promise<TreeListing>;
  /** Pulls a pack of a tree's small objects into the cache, for POST /v1/packs (`mayfly get -r`, task/pack-pull.ts). */
  readonly pullPack?: (request: PackRequest, signal: AbortSignal) => Promise<unknown>;
}

/**
 * The agent's local entry point for the CLI and for programs on this host:
 *   POST /v1/pulls            pull a URL into the cache; with Accept: application/x-ndjson
 *                             progress lines stream first; a caller that hangs up cancels
 * `url` names an s3:// key literally (as the AWS CLI does); `versionId` pins a version.
 *   GET  /v1/objects?url=…    stream the bytes back, each piece checked against its digest
 *                             on the way out (Range: 206, 416)
 *
 * The agent writes nothing outside its data directory: a user's file is
 * written by the user's own process (`mayfly get` streams GET /v1/objects),
 * so it gets the user's owner and permissions. Requests from web pages
 * (foreign Host or Origin, non-JSON bodies) are refused (local-request-guard.ts).
 *   GET  /v1/stat?url=…       the URL's swarm as the scheduler sees it, plus this cache
 *   GET  /v1/tasks            what the cache holds
 *   GET  /v1/listings?url=s3://bucket/prefix/   every object under a prefix (tree-listing.ts)
 */
export class LocalApi {
  private listener?: HttpListener;

  constructor(private readonly options: LocalApiOptions) {}

  async start(): Promise<number> {
    let port = this.options.port;
    const guard = localRequestGuard(this.options.host, () => port, true);
    this.listener = new HttpListener(
      (req, res) => {
        const refusal = guard.check(req);
        if (refusal) {
          res.setHeader('connection', 'close');
          return sendJson(res, refusal.status, { error: refusal.status === 403 ? 'Forbidden' : 'UnsupportedMediaType', message: refusal.message });
        }
        this.route(req, res).catch((error) => {
          if (!(error instanceof MayflyError)) this.options.log.error('local API request failed', { error });
          sendError(res, error);
        });
      },
      { host: this.options.host, port: this.options.port },
    );
    port = await this.listener.start();
    return port;
  }

  async stop(): Promise<void> {
    await this.listener?.stop();
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /v1/health':
        return sendJson(res, 200, { ok: true });
      case 'GET /metrics': {
        if (!this.options.metrics) throw new NotFoundError('metrics are off');
        const text = this.options.metrics.render();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      case 'POST /v1/pulls':
        return this.pull(req, res);
      case 'POST /v1/packs':
        return this.pack(req, res);
      case 'GET /v1/objects':
        return this.streamLatest(url, req, res);
      case 'GET /v1/stat':
        return this.stat(url, res);
      case 'GET /v1/listings': {
        const target = url.searchParams.get('url');
        if (!target) throw new BadRequestError('query parameter url is required');
        if (!this.options.listTree) throw new NotFoundError('listings are not available on this agent');
        return sendJson(res, 200, await this.options.listTree(target));
      }
      case 'GET /v1/tasks':
        return sendJson(res, 200, {
          tasks: this.options.store.list().map((files) => ({
            taskId: files.task.id,
            url: files.task.url,
            size: files.task.size,
            complete: files.complete,
            completedBytes: files.completedBytes,
            lastUsedAt: new Date(files.lastUsedAt).toISOString(),
          })),
        });
      case 'GET /v1/cache':
        return sendJson(res, 200, { ...this.requireCache().summary(), tasks: this.requireCache().list() });
      case 'POST /v1/cache/gc':
        return sendJson(res, 200, { evicted: await this.requireCache().collect(), ...this.requireCache().summary() });
      default: {
        const removal = /^DELETE \/v1\/cache\/([^/]+)$/.exec(route);
        if (removal) {
          const taskId = assertTaskId(removal[1]);
          await this.requireCache().remove(taskId);
          return sendJson(res, 200, { removed: taskId, ...this.requireCache().summary() });
        }
        throw new NotFoundError(`no route for ${route}`);
      }
    }
  }

  private requireCache(): CacheJanitor {
    if (!this.options.cache) throw new NotFoundError('cache management is off');
    return this.options.cache;
  }

  private async pull(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = parseWith(pullRequestSchema, await readJsonBody(req), 'pull request');
    const target = targetOf(body.url, body.versionId);
    const streaming = (req.headers.accept ?? '').includes('application/x-ndjson');
    // A caller that hangs up (Ctrl-C in `mayfly get`) no longer wants the object.
    const cancel = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) cancel.abort(new Error('the caller hung up'));
    });
    const pullOnce = async (onProgress?: (progress: PullProgress) => void) => {
      try {
        return (await this.options.tasks.pull(target, onProgress, cancel.signal)).result;
      } finally {
        void this.options.cache?.collect();
      }
    };
    if (!streaming) return sendJson(res, 200, await pullOnce());
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const line = (value: unknown) => res.write(`${JSON.stringify(value)}\n`);
    let last = 0;
    const onProgress = (progress: PullProgress) => {
      const now = Date.now();
      if (now - last < 100 && progress.completedBytes < progress.size) return;
      last = now;
      line({ type: 'progress', ...progress });
    };
    try {
      line({ type: 'result', ...(await pullOnce(onProgress)) });
    } catch (error) {
      if (cancel.signal.aborted) return;
      const answer = errorAnswer(error);
      if (answer.internal) this.options.log.error('pull failed', { error });
      line({ type: 'error', status: answer.status, error: answer.body.error, message: answer.body.message });
    }
    res.end();
  }

  /** A pack of small objects pulled as one task; its bytes are then read with GET /v1/objects?url=<the pack's URL>. */
  private async pack(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.options.pullPack) throw new NotFoundError('packs are not available on this agent');
    const body = parseWith(packRequestSchema, await readJsonBody(req), 'pack request');
    const cancel = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) cancel.abort(new Error('the caller hung up'));
    });
    try {
      sendJson(res, 200, await this.options.pullPack(body, cancel.signal));
    } finally {
      void this.options.cache?.collect();
    }
  }

  /** An object that changes before its first byte goes out is looked up again and served in its new version. */
  private async streamLatest(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.stream(url, req, res);
      } catch (error) {
        if (!(error instanceof OriginChangedError) || res.headersSent || attempt >= 3) throw error;
      }
    }
  }

  private async stream(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const session = await this.options.tasks.open(queryTarget(url));
    const { task } = session;
    let range: ByteRange | undefined;
    try {
      range = parseByteRange(req.headers.range, task.size);
    } catch (error) {
      if (!(error instanceof BadRequestError) || error.context.unsatisfiable !== true) throw error;
      return sendJson(res, 416, { error: 'InvalidRange', message: error.message }, { 'content-range': `bytes */${task.size}` });
    }
    const bytes = range ?? { start: 0, end: task.size };
    const writeHead = () =>
      res.writeHead(range ? 206 : 200, {
        'content-type': 'application/octet-stream',
        'content-length': bytes.end - bytes.start,
        'accept-ranges': 'bytes',
        etag: task.etag,
        ...(range ? { 'content-range': `bytes ${bytes.start}-${bytes.end - 1}/${task.size}` } : {}),
      });
    // Only the pieces overlapping the range are fetched; bytes leave as each piece is checked.
    await sendRange(session, bytes, res, writeHead, this.options.log);
  }

  private async stat(url: URL, res: ServerResponse): Promise<void> {
    if (!this.options.swarm) throw new NotFoundError('stat is not available on this agent');
    const swarm = await this.options.swarm(queryTarget(url));
    const files = this.options.store.get(swarm.task.id);
    sendJson(res, 200, { ...swarm, local: files ? { completedBytes: files.completedBytes, complete: files.complete } : null });
  }
}
