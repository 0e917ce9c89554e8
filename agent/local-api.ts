import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAbsolute } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { BadRequestError, MayflyError, NotFoundError, httpStatusOf } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { parseWith } from '../core/schemas.ts';
import { readJsonBody, sendError, sendJson } from './http-json.ts';
import { writeOutput } from './output-writer.ts';
import type { PieceStore } from './piece-store.ts';
import type { PullProgress, TaskManager } from './task-manager.ts';

const pullRequestSchema = z.strictObject({
  url: z.string().min(1).max(2048),
  /** Absolute path; the agent writes it atomically. */
  output: z.string().min(1).max(4096).optional(),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex>').optional(),
});

export interface LocalApiOptions {
  readonly tasks: TaskManager;
  readonly store: PieceStore;
  readonly log: Logger;
  readonly host: string;
  readonly port: number;
}

/**
 * The agent's local entry point for the CLI and for programs on this host:
 *   POST /v1/pulls            pull a URL (to a file, or just into the cache);
 *                             with Accept: application/x-ndjson progress lines stream first
 *   GET  /v1/objects?url=…    pull and stream the bytes back
 *   GET  /v1/tasks            what the cache holds
 */
export class LocalApi {
  private server?: Server;

  constructor(private readonly options: LocalApiOptions) {}

  async start(): Promise<number> {
    this.server = createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
      this.route(req, res).catch((error) => {
        if (!(error instanceof MayflyError)) this.options.log.error('local API request failed', { error });
        sendError(res, error);
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port, this.options.host, resolve);
    });
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /v1/health':
        return sendJson(res, 200, { ok: true });
      case 'POST /v1/pulls':
        return this.pull(req, res);
      case 'GET /v1/objects':
        return this.stream(url, res);
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
      default:
        throw new NotFoundError(`no route for ${route}`);
    }
  }

  private async pull(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = parseWith(pullRequestSchema, await readJsonBody(req), 'pull request');
    if (body.output !== undefined && !isAbsolute(body.output)) throw new BadRequestError('output must be an absolute path');
    const streaming = (req.headers.accept ?? '').includes('application/x-ndjson');
    if (!streaming) {
      const { result, files } = await this.options.tasks.pull(body.url);
      const written = body.output ? await writeOutput(files, body.output, body.digest?.slice(7)) : {};
      return sendJson(res, 200, { ...result, ...written, output: body.output });
    }
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
      const { result, files } = await this.options.tasks.pull(body.url, onProgress);
      const written = body.output ? await writeOutput(files, body.output, body.digest?.slice(7)) : {};
      line({ type: 'result', ...result, ...written, output: body.output });
    } catch (error) {
      const typed = error instanceof MayflyError ? error : undefined;
      if (!typed) this.options.log.error('pull failed', { error });
      line({ type: 'error', status: httpStatusOf(error), error: typed?.code ?? 'Internal', message: typed?.message ?? 'internal error' });
    }
    res.end();
  }

  private async stream(url: URL, res: ServerResponse): Promise<void> {
    const target = url.searchParams.get('url');
    if (!target) throw new BadRequestError('query parameter url is required');
    const { files } = await this.options.tasks.pull(target);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': files.task.size });
    await pipeline(files.readStream({ start: 0, end: files.task.size }), res);
  }
}
