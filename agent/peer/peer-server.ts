import type { IncomingMessage, ServerResponse } from 'node:http';
import { NotFoundError, UnavailableError } from '../../core/errors.ts';
import { PEER_CREDENTIAL_HEADER } from '../../core/peer-credential.ts';
import { BITFIELD_HEADER, BITFIELD_ROUTE, HEALTH_PATH, PIECE_MEDIA_TYPE, PIECE_ROUTE } from '../../core/wire/peer.ts';
import type { Logger } from '../../core/log.ts';
import { isHexId } from '../../core/ids.ts';
import { parseWatchInterval, streamAdvertised } from './bitfield-watch.ts';
import { HttpListener } from '../http/http-server.ts';
import { ConnectionCap, type ConnectionLimits } from '../http/connection-cap.ts';
import type { UploadFloor } from './transfer-floor.ts';
import { sendFileRange } from './piece-sender.ts';
import { sendError, sendJson } from '../http/http-json.ts';
import type { PieceStore } from '../cache/piece-store.ts';
import type { Throttle } from '../http/throttle.ts';
import type { ChildView, ChildViews } from './child-view.ts';
import type { PeerAuth } from './peer-auth.ts';

export interface PeerServerOptions {
  readonly store: PieceStore;
  /** What children may see of each task. */
  readonly views: ChildViews;
  /** Children's credentials are checked here. */
  readonly auth: PeerAuth;
  readonly log: Logger;
  readonly host: string;
  readonly port: number;
  /** Uploads served at once; more get 503 with a retry hint. */
  readonly uploadConcurrency: number;
  /** Upload bandwidth limit shared by all children. */
  readonly throttle?: Throttle;
  /** An upload slower than this is cut (see transfer-floor.ts). */
  readonly floor?: UploadFloor;
  /** Connections kept at once; more are refused on accept (see connection-cap.ts). */
  readonly connections?: ConnectionLimits;
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
  /** Piece requests refused because that child already had an upload going. */
  rejectedSameChild: number;
  /** Uploads cut for moving less than the floor. */
  cutSlow: number;
}

/**
 * The data plane's serving side: a task's bitfield and its verified pieces,
 * streamed from disk. Children watch the bitfield (bitfield-watch.ts), and each
 * piece answer also carries it.
 */
export class PeerServer {
  readonly stats: UploadStats = { active: 0, piecesServed: 0, bytesServed: 0, rejectedBusy: 0, rejectedSpreading: 0, bitfieldsServed: 0, rejectedSameChild: 0, cutSlow: 0 };
  private listener?: HttpListener;
  /** Children (peer ids) with an upload going: one slot per child at a time. */
  private readonly uploading = new Set<string>();

  constructor(private readonly options: PeerServerOptions) {}

  start(): Promise<number> {
    this.listener = new HttpListener((req, res) => void this.route(req, res).catch((error) => sendError(res, error)), {
      host: this.options.host,
      port: this.options.port,
      keepAliveMs: 30_000,
      cap: this.options.connections
        ? new ConnectionCap(this.options.connections, (report) => this.options.log.warn('peer connections refused: at the connection cap', report))
        : undefined,
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
    if (path === HEALTH_PATH) return sendJson(res, 200, { ok: true, uploads: this.stats.active });
    let match = PIECE_ROUTE.exec(path);
    if (match) {
      const { view, child } = this.authorize(req, match[1]);
      return this.servePiece(res, view, Number(match[2]), child);
    }
    match = BITFIELD_ROUTE.exec(path);
    if (match) return this.serveBitfield(req, res, this.authorize(req, match[1]).view);
    throw new NotFoundError(`no route for ${path}`);
  }

  /** The bitfield at once, or (a watch) as a stream of lines, one whenever it holds news for the child. */
  private serveBitfield(req: IncomingMessage, res: ServerResponse, view: ChildView): void {
    const intervalMs = req.method === 'GET' ? parseWatchInterval(req) : undefined;
    if (intervalMs === undefined) {
      this.stats.bitfieldsServed++;
      sendJson(res, 200, { pieceCount: view.files.task.pieceCount, bitfield: view.advertised().toBase64() });
      return;
    }
    streamAdvertised(res, view, intervalMs, () => this.stats.bitfieldsServed++);
  }

  /**
   * The task's child view, once the child has shown the credential the scheduler gave it
   * for this task, and the child's peer id from that credential (undefined with peer auth off).
   */
  private authorize(req: IncomingMessage, taskId: string): { view: ChildView; child: string | undefined } {
    if (!isHexId(taskId)) throw new NotFoundError('task id must be 64 hex characters');
    // The credential first: without one, no answer tells which tasks this host holds.
    const header = req.headers[PEER_CREDENTIAL_HEADER];
    const child = this.options.auth.check(taskId, typeof header === 'string' ? header : undefined);
    const files = this.options.store.get(taskId);
    if (!files) throw new NotFoundError(`task ${taskId} is not here`);
    return { view: this.options.views.of(files), child };
  }

  private async servePiece(res: ServerResponse, view: ChildView, index: number, child: string | undefined): Promise<void> {
    const { files } = view;
    // `piece: true` tells children the task is here but this piece is not (see the lie check in task/parent-verdict.ts).
    if (!view.offers(index)) throw new NotFoundError(`piece ${index} is not here`, { context: { piece: true } });
    if (this.stats.active >= this.options.uploadConcurrency) {
      this.stats.rejectedBusy++;
      throw new UnavailableError('upload slots are full', { context: { retryAfterMs: 200 } });
    }
    if (child !== undefined && this.uploading.has(child)) {
      this.stats.rejectedSameChild++;
      throw new UnavailableError('this child has an upload going already: one at a time', { context: { retryAfterMs: 200 } });
    }
    if (!view.startUpload(index)) {
      this.stats.rejectedSpreading++;
      throw new UnavailableError(`piece ${index} is on its way to another child; fetch it from there`, { context: { retryAfterMs: 0, piece: true } });
    }
    const range = files.range(index);
    this.stats.active++;
    // The child's turn ends when the last byte is handed over (or the connection ends), before the file closes.
    const endTurn = () => {
      if (child !== undefined) this.uploading.delete(child);
    };
    if (child !== undefined) {
      this.uploading.add(child);
      res.once('finish', endTurn);
      res.once('close', endTurn);
    }
    try {
      res.writeHead(200, {
        'content-type': PIECE_MEDIA_TYPE,
        'content-length': range.end - range.start,
        [BITFIELD_HEADER]: view.advertised().toBase64(),
      });
      await sendFileRange(files.dataPath, range, res, this.options.throttle, this.options.floor).catch((error) => {
        if (error instanceof UnavailableError) this.stats.cutSlow++;
        throw error;
      });
      this.stats.piecesServed++;
      this.stats.bytesServed += range.end - range.start;
    } finally {
      endTurn();
      this.stats.active--;
      // A downloading agent held the piece back; children waiting for news hear when it is on offer again.
      view.endUpload(index);
    }
  }
}
