import type { IncomingMessage, ServerResponse } from 'node:http';
import { NotFoundError, UnavailableError } from '../../core/errors.ts';
import { PEER_CREDENTIAL_HEADER, verifyCredential } from '../../core/peer-credential.ts';
import type { Logger } from '../../core/log.ts';
import { isHexId } from '../../core/ids.ts';
import { parseWatchInterval, streamAdvertised } from './bitfield-watch.ts';
import { HttpListener } from '../http/http-server.ts';
import { sendFileRange } from './piece-sender.ts';
import { sendError, sendJson } from '../http/http-json.ts';
import type { PieceStore, TaskFiles } from '../cache/piece-store.ts';
import { ORIGIN_PIECE_REST_MS, SpreadTracker } from './spread-tracker.ts';
import type { Bitfield } from '../../core/bitfield.ts';
import type { Throttle } from '../http/throttle.ts';

export const BITFIELD_HEADER = 'x-mayfly-bitfield';

export interface PeerServerOptions {
  readonly store: PieceStore;
  readonly log: Logger;
  readonly host: string;
  readonly port: number;
  /** Uploads served at once; more get 503 with a retry hint. */
  readonly uploadConcurrency: number;
  /** Upload bandwidth limit shared by all children. */
  readonly throttle?: Throttle;
}

export interface UploadStats {
  active: number;
  piecesServed: number;
  bytesServed: number;
  rejectedBusy: number;
  /** Piece requests sent elsewhere because the piece was already on its way to another child. */
  rejectedSpreading: number;
  /** Bitfield answers: plain ones, and lines sent to watching children. */
  bitfieldsServed: number;
}

const PIECE_PATH = /^\/v1\/tasks\/([^/]+)\/pieces\/(\d{1,9})$/;
const BITFIELD_PATH = /^\/v1\/tasks\/([^/]+)\/bitfield$/;

/**
 * The data plane's serving side: a task's bitfield and its verified pieces,
 * streamed from disk. Children watch the bitfield (bitfield-watch.ts), and each
 * piece answer also carries it.
 */
export class PeerServer {
  readonly stats: UploadStats = { active: 0, piecesServed: 0, bytesServed: 0, rejectedBusy: 0, rejectedSpreading: 0, bitfieldsServed: 0 };
  private listener?: HttpListener;
  private readonly spread = new SpreadTracker();

  constructor(private readonly options: PeerServerOptions) {}

  start(): Promise<number> {
    this.listener = new HttpListener((req, res) => void this.route(req, res).catch((error) => sendError(res, error)), {
      host: this.options.host,
      port: this.options.port,
      keepAliveMs: 30_000,
    });
    return this.listener.start();
  }

  async stop(): Promise<void> {
    await this.listener?.stop();
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'MethodNotAllowed', message: 'peer API is read-only' }, { allow: 'GET, HEAD' });
      return;
    }
    if (path === '/v1/health') return sendJson(res, 200, { ok: true, uploads: this.stats.active });
    let match = PIECE_PATH.exec(path);
    if (match) {
      this.authorize(req, match[1]);
      return this.servePiece(res, match[1], Number(match[2]));
    }
    match = BITFIELD_PATH.exec(path);
    if (match) return this.serveBitfield(req, res, this.authorize(req, match[1]));
    throw new NotFoundError(`no route for ${path}`);
  }

  /** The bitfield at once, or (a watch) as a stream of lines, one whenever it holds news for the child. */
  private serveBitfield(req: IncomingMessage, res: ServerResponse, files: TaskFiles): void {
    const intervalMs = req.method === 'GET' ? parseWatchInterval(req) : undefined;
    if (intervalMs === undefined) {
      this.stats.bitfieldsServed++;
      sendJson(res, 200, { pieceCount: files.task.pieceCount, bitfield: this.advertised(files).toBase64() });
      return;
    }
    streamAdvertised(res, files, () => this.advertised(files), intervalMs, () => this.stats.bitfieldsServed++);
  }

  private advertised(files: TaskFiles): Bitfield {
    return this.spread.filter(files.task.id, files.advertised(), files.complete, (index) => files.fromOrigin.has(index));
  }

  /** Children must show the credential the scheduler gave them for this task. */
  private authorize(req: IncomingMessage, taskId: string) {
    const files = this.files(taskId);
    if (!this.options.store.peerAuthRequired) return files;
    if (!files.peerKey) throw new UnavailableError('peer key for this task not known yet', { context: { retryAfterMs: 1000 } });
    const header = req.headers[PEER_CREDENTIAL_HEADER];
    verifyCredential(files.peerKey, taskId, typeof header === 'string' ? header : undefined, Date.now());
    return files;
  }

  private files(taskId: string) {
    if (!isHexId(taskId)) throw new NotFoundError('task id must be 64 hex characters');
    const files = this.options.store.get(taskId);
    if (!files) throw new NotFoundError(`task ${taskId} is not here`);
    return files;
  }

  private async servePiece(res: ServerResponse, taskId: string, index: number): Promise<void> {
    const files = this.files(taskId);
    // `piece: true` tells children the task is here but this piece is not (see the downloader's lie check).
    if (!files.bitfield.has(index) || files.unpublished.has(index)) throw new NotFoundError(`piece ${index} is not here`, { context: { piece: true } });
    if (this.stats.active >= this.options.uploadConcurrency) {
      this.stats.rejectedBusy++;
      throw new UnavailableError('upload slots are full', { context: { retryAfterMs: 200 } });
    }
    if (!this.spread.tryStart(taskId, index, files.complete, files.fromOrigin.has(index))) {
      this.stats.rejectedSpreading++;
      throw new UnavailableError(`piece ${index} is on its way to another child; fetch it from there`, { context: { retryAfterMs: 0, piece: true } });
    }
    const range = files.range(index);
    this.stats.active++;
    try {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': range.end - range.start,
        [BITFIELD_HEADER]: this.advertised(files).toBase64(),
      });
      await sendFileRange(files.dataPath, range, res, this.options.throttle);
      this.stats.piecesServed++;
      this.stats.bytesServed += range.end - range.start;
    } finally {
      this.stats.active--;
      this.spread.finish(taskId, index);
      // A downloading agent held the piece back; it is on offer again (at once, or after its
      // rest), so children waiting for news hear of it. A complete agent holds nothing back.
      if (!files.complete) {
        files.advertisedChanged();
        if (files.fromOrigin.has(index)) setTimeout(() => files.advertisedChanged(), ORIGIN_PIECE_REST_MS + 10).unref();
      }
    }
  }
}
