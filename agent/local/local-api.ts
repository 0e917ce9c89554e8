import type { IncomingMessage, ServerResponse } from 'node:http';
import { digestRefSchema } from '../../core/ids.ts';
import { HttpListener } from '../http/http-server.ts';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { BadRequestError, MayflyError, NotFoundError } from '../../core/errors.ts';
import { errorAnswer } from '../../core/http-answer.ts';
import type { Logger } from '../../core/log.ts';
import { type TaskInfo } from '../../core/wire/scheduler.ts';
import { parseWith } from '../../core/wire/parse.ts';
import { canonicalOriginUrl, parseOriginUrl } from '../../core/origin-url.ts';
import { parseByteRange, type ByteRange } from '../../core/piece-math.ts';
import { SwarmResponse } from '../../core/wire/scheduler.ts';
import { sendRange } from './range-reader.ts';
import { readJsonBody, sendError, sendJson } from '../http/http-json.ts';
import { OutputMirror } from './output-mirror.ts';
import { writeCheckedOutput } from './output-writer.ts';
import type { PieceStore } from '../cache/piece-store.ts';
import type { TaskFiles } from '../cache/task-files.ts';
import type { PullProgress, TaskManager } from '../task/task-manager.ts';
import type { CacheJanitor } from '../task/cache-janitor.ts';
import { assertTaskId } from '../../core/task-id.ts';

const pullRequestSchema = z.strictObject({
  url: z.string().min(1).max(2048),
  /** Absolute path; the agent writes it atomically. */
  output: z.string().min(1).max(4096).optional(),
  digest: digestRefSchema.optional(),
});

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
}

/**
 * The agent's local entry point for the CLI and for programs on this host:
 *   POST /v1/pulls            pull a URL (to a file, or just into the cache);
 *                             with Accept: application/x-ndjson progress lines stream first
 *   GET  /v1/objects?url=…    stream the bytes back as pieces are verified (Range: 206, 416)
 *   GET  /v1/stat?url=…       the URL's swarm as the scheduler sees it, plus this cache
 *   GET  /v1/tasks            what the cache holds
 */
export class LocalApi {
  private listener?: HttpListener;

  constructor(private readonly options: LocalApiOptions) {}

  start(): Promise<number> {
    this.listener = new HttpListener(
      (req, res) => {
        this.route(req, res).catch((error) => {
          if (!(error instanceof MayflyError)) this.options.log.error('local API request failed', { error });
          sendError(res, error);
        });
      },
      { host: this.options.host, port: this.options.port },
    );
    return this.listener.start();
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
      case 'GET /v1/objects':
        return this.stream(url, req, res);
      case 'GET /v1/stat':
        return this.stat(url, res);
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

  /**
   * Completes the user's file (in use meanwhile, so never evicted mid-copy), then enforces the quota:
   * the mirror written during the pull, or (to check a --digest) a hashed copy of the cache.
   */
  private async written(files: TaskFiles, output: string, digest: string | undefined, mirror: OutputMirror | undefined): Promise<{ sha256?: string }> {
    const release = files.use();
    try {
      if (mirror) {
        await mirror.commit(files);
        return {};
      }
      if (!digest) throw new Error('an output without a digest is written by its mirror');
      return await writeCheckedOutput(files, output, digest.slice(7));
    } finally {
      release();
      void this.options.cache?.collect();
    }
  }

  private requireCache(): CacheJanitor {
    if (!this.options.cache) throw new NotFoundError('cache management is off');
    return this.options.cache;
  }

  private async pull(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = parseWith(pullRequestSchema, await readJsonBody(req), 'pull request');
    if (body.output !== undefined && !isAbsolute(body.output)) throw new BadRequestError('output must be an absolute path');
    const streaming = (req.headers.accept ?? '').includes('application/x-ndjson');
    const { output, digest } = body;
    let mirror: OutputMirror | undefined;
    // Without a digest to check first, the output is a clone of the cache or written while the pieces arrive.
    const openOutput =
      output && !digest
        ? async (task: TaskInfo, dataPath: string) => {
            mirror = await OutputMirror.create(output, task.size, dataPath);
            return mirror.cloning ? undefined : mirror;
          }
        : undefined;
    const pullAndWrite = async (onProgress?: (progress: PullProgress) => void) => {
      try {
        const { result, files } = await this.options.tasks.pull(body.url, onProgress, openOutput);
        return { ...result, ...(output ? await this.written(files, output, digest, mirror) : {}), output };
      } catch (error) {
        await mirror?.discard();
        throw error;
      }
    };
    if (!streaming) return sendJson(res, 200, await pullAndWrite());
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
      line({ type: 'result', ...(await pullAndWrite(onProgress)) });
    } catch (error) {
      const answer = errorAnswer(error);
      if (answer.internal) this.options.log.error('pull failed', { error });
      line({ type: 'error', status: answer.status, error: answer.body.error, message: answer.body.message });
    }
    res.end();
  }

  private async stream(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = url.searchParams.get('url');
    if (!target) throw new BadRequestError('query parameter url is required');
    const session = await this.options.tasks.open(target);
    const { task } = session;
    let range: ByteRange | undefined;
    try {
      range = parseByteRange(req.headers.range, task.size);
    } catch (error) {
      if (!(error instanceof BadRequestError) || error.context.unsatisfiable !== true) throw error;
      return sendJson(res, 416, { error: 'InvalidRange', message: error.message }, { 'content-range': `bytes */${task.size}` });
    }
    const bytes = range ?? { start: 0, end: task.size };
    res.writeHead(range ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'content-length': bytes.end - bytes.start,
      'accept-ranges': 'bytes',
      etag: task.etag,
      ...(range ? { 'content-range': `bytes ${bytes.start}-${bytes.end - 1}/${task.size}` } : {}),
    });
    // Only the pieces overlapping the range are fetched; bytes leave as each piece is verified.
    await sendRange(session, bytes, res);
  }

  private async stat(url: URL, res: ServerResponse): Promise<void> {
    const target = url.searchParams.get('url');
    if (!target) throw new BadRequestError('query parameter url is required');
    if (!this.options.swarm) throw new NotFoundError('stat is not available on this agent');
    const swarm = await this.options.swarm(canonicalOriginUrl(parseOriginUrl(target)));
    const files = this.options.store.get(swarm.task.id);
    sendJson(res, 200, { ...swarm, local: files ? { completedBytes: files.completedBytes, complete: files.complete } : null });
  }
}
