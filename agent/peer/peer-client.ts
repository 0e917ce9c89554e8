import { Agent, request, type IncomingMessage } from 'node:http';
import { Bitfield } from '../../core/bitfield.ts';
import { MayflyError, NotFoundError, UnavailableError } from '../../core/errors.ts';
import { PEER_CREDENTIAL_HEADER } from '../../core/peer-credential.ts';
import { BITFIELD_HEADER, INTERVAL_HEADER, WATCH_MEDIA_TYPE, bitfieldPath, piecePath } from '../../core/wire/peer.ts';
import type { PieceWriter } from '../cache/piece-writer.ts';
import { drainInto } from '../cache/body-sink.ts';
import { abortableRequest } from '../http/abortable-request.ts';

/** Bytes of a parent's error answer read at most. */
const MAX_ERROR_BODY = 64 * 1024;

/** A parent failed to deliver: timeout, reset, wrong length, HTTP error. */
export class PeerTransferError extends MayflyError {
  override readonly code = 'PeerTransferFailed';
}

export interface PeerClientOptions {
  /** Abort a transfer when no byte arrives for this long. */
  readonly idleTimeoutMs: number;
  readonly maxSocketsPerParent: number;
}

/** The data plane's fetching side: bitfields and pieces from parents over plain HTTP. */
export class PeerClient {
  private readonly agent: Agent;

  constructor(private readonly options: PeerClientOptions) {
    this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSocketsPerParent, scheduling: 'lifo' });
  }

  /**
   * Watches a parent's advertised bitfield: `onBitfield` gets the current set at
   * once and again whenever the parent has news (at most once per `intervalMs`).
   * Resolves when the parent ends the watch (its set is complete), rejects when
   * the watch breaks. A parent that answers with one plain bitfield is a watch of
   * one line.
   */
  async watchBitfield(
    addr: string,
    taskId: string,
    pieceCount: number,
    credential: string | undefined,
    intervalMs: number,
    onBitfield: (bitfield: Bitfield) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const res = await this.get(`${addr}${bitfieldPath(taskId)}`, credential, signal, { accept: WATCH_MEDIA_TYPE, [INTERVAL_HEADER]: String(intervalMs) });
    await this.requireOk(res);
    // A line is a few dozen bytes plus the bitfield in base64; anything longer is not a line of ours.
    const maxLine = 256 + Math.ceil(pieceCount / 6);
    let pending = '';
    try {
      for await (const chunk of res) {
        pending += (chunk as Buffer).toString('utf8');
        for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
          onBitfield(parseBitfieldLine(pending.slice(0, end), pieceCount));
          pending = pending.slice(end + 1);
        }
        if (pending.length > maxLine) throw new PeerTransferError(`bitfield watch line longer than ${maxLine} bytes`);
      }
    } catch (error) {
      res.destroy();
      if (error instanceof MayflyError) throw error;
      throw new PeerTransferError(`bitfield watch broke: ${(error as Error).message}`, { cause: error });
    }
    if (pending.trim()) onBitfield(parseBitfieldLine(pending, pieceCount));
  }

  /**
   * Streams piece `index` into `writer`. Returns the parent's bitfield as sent
   * with the piece, when it sent one.
   */
  async piece(
    addr: string,
    taskId: string,
    index: number,
    pieceCount: number,
    writer: PieceWriter,
    credential: string | undefined,
    signal?: AbortSignal,
  ): Promise<Bitfield | undefined> {
    const res = await this.get(`${addr}${piecePath(taskId, index)}`, credential, signal);
    await this.requireOk(res);
    const length = Number(res.headers['content-length']);
    if (length !== writer.expectedLength) {
      res.destroy();
      throw new PeerTransferError(`parent sent ${length} bytes for a ${writer.expectedLength}-byte piece`);
    }
    let bitfield: Bitfield | undefined;
    const header = res.headers[BITFIELD_HEADER];
    if (typeof header === 'string') {
      try {
        bitfield = Bitfield.fromBase64(pieceCount, header);
      } catch {
        bitfield = undefined;
      }
    }
    try {
      await drainInto(res, writer);
    } catch (error) {
      res.destroy();
      if (error instanceof MayflyError && error.code === 'StorageFailure') throw error;
      throw new PeerTransferError(`transfer of piece ${index} broke: ${(error as Error).message}`, { cause: error });
    }
    if (writer.written !== writer.expectedLength) {
      throw new PeerTransferError(`parent closed piece ${index} after ${writer.written} bytes`);
    }
    return bitfield;
  }

  close(): void {
    this.agent.destroy();
  }

  private async get(url: string, credential: string | undefined, signal?: AbortSignal, extraHeaders?: Record<string, string>): Promise<IncomingMessage> {
    const headers = { ...extraHeaders, ...(credential ? { [PEER_CREDENTIAL_HEADER]: credential } : {}) };
    try {
      return await abortableRequest(request, url, {
        agent: this.agent,
        headers,
        signal,
        idleTimeoutMs: this.options.idleTimeoutMs,
        onTimeout: () => new PeerTransferError(`no answer from ${url} for ${this.options.idleTimeoutMs} ms`),
      });
    } catch (error) {
      throw error instanceof MayflyError ? error : new PeerTransferError(`request to ${url} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Returns on 200; otherwise reads the parent's error answer and throws what it means for the downloader. */
  private async requireOk(res: IncomingMessage): Promise<void> {
    const status = res.statusCode ?? 0;
    if (status === 200) return;
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of res) {
      bytes += (chunk as Buffer).length;
      // An error answer is a line of JSON: one that never ends would hold the transfer and grow without bound.
      if (bytes > MAX_ERROR_BODY) {
        res.destroy();
        throw new PeerTransferError(`parent answered ${status} with a body over ${MAX_ERROR_BODY} bytes`, { context: { status } });
      }
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks);
    let message = `parent answered ${status}`;
    let scope: string | undefined;
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { message?: string; scope?: string };
      message = parsed.message ?? message;
      scope = parsed.scope;
    } catch {
      // keep the status line
    }
    if (status === 404) throw new NotFoundError(message, { context: { piece: scope === 'piece' } });
    if (status === 401 || status === 403) throw new PeerTransferError(`parent refused access: ${message}`, { context: { status } });
    // scope "piece": this parent is busy with this piece only (see SpreadTracker), not with everything.
    if (status === 503) throw new UnavailableError(message, { context: { retryAfterMs: scope === 'piece' ? 0 : 200, piece: scope === 'piece' } });
    throw new PeerTransferError(message, { context: { status } });
  }
}

function parseBitfieldLine(line: string, pieceCount: number): Bitfield {
  let body: { pieceCount?: unknown; bitfield?: unknown };
  try {
    body = JSON.parse(line) as typeof body;
  } catch {
    throw new PeerTransferError('parent sent a bitfield that is not JSON');
  }
  if (body.pieceCount !== pieceCount) throw new PeerTransferError(`parent reports ${String(body.pieceCount)} pieces, expected ${pieceCount}`);
  if (typeof body.bitfield !== 'string') throw new PeerTransferError('parent sent a bitfield without bits');
  try {
    return Bitfield.fromBase64(pieceCount, body.bitfield);
  } catch (error) {
    throw new PeerTransferError(`parent sent a malformed bitfield: ${(error as Error).message}`, { cause: error });
  }
}
