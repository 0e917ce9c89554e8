import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Bitfield } from '../../core/bitfield.ts';

export type RogueMode =
  /** Claims every piece and serves random bytes of the right length. */
  | 'corrupt'
  /** Claims every piece in its bitfield but answers 404 for each. */
  | 'liar';

export interface RoguePeer {
  readonly peerId: string;
  readonly pieceRequests: () => number;
  /** Last status the scheduler answered its announce with. */
  readonly lastAnnounceStatus: () => number;
  stop(): Promise<void>;
}

/**
 * A misbehaving agent for fault tests: it announces itself to the real
 * scheduler as a finished peer of a task and then serves bad data (or none).
 */
export async function startRoguePeer(options: {
  readonly mode: RogueMode;
  readonly peerId: string;
  readonly schedulerUrl: string;
  readonly token: string;
  readonly url: string;
}): Promise<RoguePeer> {
  let pieceCount = 0;
  let pieceLength = 0;
  let size = 0;
  let requests = 0;
  let status = 0;
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    if (path.endsWith('/bitfield')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ pieceCount, bitfield: Bitfield.full(pieceCount).toBase64() }));
      return;
    }
    const match = /\/pieces\/(\d+)$/.exec(path);
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    requests++;
    if (options.mode === 'liar') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"NotFound","message":"piece is not here","scope":"piece"}');
      return;
    }
    const index = Number(match[1]);
    const length = Math.min(pieceLength, size - index * pieceLength);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': length });
    res.end(randomBytes(length));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const announce = async (event: string) => {
    const response = await fetch(`${options.schedulerUrl}/v1/announce`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}` },
      body: JSON.stringify({ url: options.url, peerId: options.peerId, addr, event, completed: pieceCount, seed: true }),
    });
    status = response.status;
    const body = (await response.json()) as { task?: { pieceCount: number; pieceLength: number; size: number } };
    if (body.task) ({ pieceCount, pieceLength, size } = body.task);
  };
  await announce('register');
  await announce('progress');
  const timer = setInterval(() => void announce('progress').catch(() => {}), 500);

  return {
    peerId: options.peerId,
    pieceRequests: () => requests,
    lastAnnounceStatus: () => status,
    stop: async () => {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
