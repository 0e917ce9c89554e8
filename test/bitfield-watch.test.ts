import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bitfield } from '../core/bitfield.ts';
import { PEER_CREDENTIAL_HEADER, derivePeerSigningKey, issueCredential } from '../core/peer-credential.ts';
import { WATCH_REFRESH_MS } from '../agent/peer/bitfield-watch.ts';
import { INTERVAL_HEADER, WATCH_MEDIA_TYPE } from '../core/wire/peer.ts';
import { PeerClient, PeerTransferError } from '../agent/peer/peer-client.ts';
import { UnavailableError } from '../core/errors.ts';
import type { AgentProcess } from '../local/agent-process.ts';
import type { Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';

const MiB = 1024 * 1024;
const PIECE = 4 * MiB;

/** What a watch delivered next: a line's pieces, its end, or nothing within the wait. */
type Next = number[] | 'end' | 'quiet';

/** A child's watch of a parent's bitfield (a stream of lines), against a real agent's peer port. */
describe('bitfield watch (peer API)', () => {
  let stack: LocalStack;
  let parent: AgentProcess;
  let artifact: Artifact;
  let taskId: string;
  const pieceCount = 3;

  const readPiece = async (index: number, url = artifact.url) => {
    const response = await fetch(`${parent.apiUrl}/v1/objects?url=${encodeURIComponent(url)}`, {
      headers: { range: `bytes=${index * PIECE}-${index * PIECE + 99}` },
    });
    expect(response.status).toBe(206);
    await response.arrayBuffer();
  };

  const request = (headers: Record<string, string> = {}, task = taskId) => {
    const credential = issueCredential(derivePeerSigningKey(stack.peerSecret), task, 'watcher', Date.now() + 60_000);
    return fetch(`http://127.0.0.1:${parent.peerPort}/v1/tasks/${task}/bitfield`, { headers: { [PEER_CREDENTIAL_HEADER]: credential, ...headers } });
  };

  const plain = async () => {
    const response = await request();
    const body = (await response.json()) as { pieceCount: number; bitfield: string };
    return { status: response.status, pieces: Bitfield.fromBase64(pieceCount, body.bitfield) };
  };

  const watch = async (intervalMs = '100', task = taskId) => {
    const response = await request({ accept: WATCH_MEDIA_TYPE, [INTERVAL_HEADER]: intervalMs }, task);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(WATCH_MEDIA_TYPE);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let pending = '';
    let read: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
    const next = async (waitMs: number): Promise<Next> => {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const end = pending.indexOf('\n');
        if (end >= 0) {
          const line = JSON.parse(pending.slice(0, end)) as { pieceCount: number; bitfield: string };
          pending = pending.slice(end + 1);
          expect(line.pieceCount).toBe(pieceCount);
          return Bitfield.fromBase64(pieceCount, line.bitfield).indexes();
        }
        read ??= reader.read();
        const left = deadline - Date.now();
        const result = await Promise.race([read, new Promise<'quiet'>((resolve) => setTimeout(() => resolve('quiet'), Math.max(0, left)))]);
        if (result === 'quiet') return 'quiet';
        read = undefined;
        if (result.done) return 'end';
        pending += decoder.decode(result.value, { stream: true });
      }
    };
    return { next, close: () => reader.cancel() };
  };

  beforeAll(async () => {
    stack = await LocalStack.start();
    artifact = await stack.putArtifact('watch/object.bin', pieceCount * PIECE);
    parent = await stack.startAgent('watch-parent');
    await readPiece(0);
    const { tasks } = (await (await fetch(`${parent.apiUrl}/v1/tasks`)).json()) as { tasks: Array<{ taskId: string; url: string }> };
    taskId = tasks.find((task) => task.url === artifact.url)!.taskId;
    // A piece read from S3 is advertised once its digest is published, a moment after it is stored.
    const deadline = Date.now() + 10_000;
    while ((await plain()).pieces.count !== 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  });
  afterAll(async () => stack?.stop());

  it('answers a plain request at once with one bitfield', async () => {
    const { status, pieces } = await plain();
    expect(status).toBe(200);
    expect(pieces.indexes()).toEqual([0]);
  });

  it('sends the set at once, then a line as soon as the parent has a new piece, and nothing in between', async () => {
    const watcher = await watch();
    expect(await watcher.next(5_000)).toEqual([0]);
    expect(await watcher.next(500)).toBe('quiet');
    const started = Date.now();
    await readPiece(2);
    expect(await watcher.next(WATCH_REFRESH_MS - 1_000)).toEqual([0, 2]);
    // Sent because of the news, not as the periodic refresh.
    expect(Date.now() - started).toBeLessThan(WATCH_REFRESH_MS - 1_000);
    await watcher.close();
  });

  it('repeats the set after a quiet spell, so the line stays alive', async () => {
    const watcher = await watch();
    expect(await watcher.next(5_000)).toEqual([0, 2]);
    expect(await watcher.next(WATCH_REFRESH_MS + 2_000)).toEqual([0, 2]);
    await watcher.close();
  });

  it('refuses a malformed interval with a reason', async () => {
    for (const interval of ['-1', '99999', 'soon', '']) {
      const response = await request({ accept: WATCH_MEDIA_TYPE, [INTERVAL_HEADER]: interval });
      expect(response.status, interval).toBe(400);
      expect(((await response.json()) as { message: string }).message).toContain(INTERVAL_HEADER);
    }
  });

  it('ends the watch with the line that completes the set', async () => {
    const watcher = await watch('0');
    expect(await watcher.next(5_000)).toEqual([0, 2]);
    await readPiece(1);
    expect(await watcher.next(5_000)).toEqual([0, 1, 2]);
    expect(await watcher.next(2_000)).toBe('end');
  });

  it('ends a watch when its task leaves the cache', async () => {
    const other = await stack.putArtifact('watch/evicted.bin', pieceCount * PIECE, 'evicted');
    await readPiece(1, other.url);
    const { tasks } = (await (await fetch(`${parent.apiUrl}/v1/tasks`)).json()) as { tasks: Array<{ taskId: string; url: string }> };
    const otherId = tasks.find((task) => task.url === other.url)!.taskId;
    const watcher = await watch('100', otherId);
    // Published digests come a moment after the piece is stored: wait for the line that has it.
    let line = await watcher.next(5_000);
    while (Array.isArray(line) && line.length === 0) line = await watcher.next(WATCH_REFRESH_MS + 1_000);
    expect(line).toEqual([1]);
    expect((await fetch(`${parent.apiUrl}/v1/cache/${otherId}`, { method: 'DELETE' })).status).toBe(200);
    expect(await watcher.next(2_000)).toBe('end');
  });
});

/** The child's side against parents that misbehave (a plain node:http server plays the parent). */
describe('bitfield watch (child side)', () => {
  const count = 10;
  const line = (indexes: number[], pieceCount = count) => {
    const bits = new Bitfield(pieceCount);
    for (const index of indexes) bits.set(index);
    return `${JSON.stringify({ pieceCount, bitfield: bits.toBase64() })}\n`;
  };
  let answer: (res: import('node:http').ServerResponse) => void = (res) => res.end();
  let server: import('node:http').Server;
  let addr: string;
  const client = new PeerClient({ idleTimeoutMs: 2_000, maxSocketsPerParent: 2 });

  const watchOnce = async () => {
    const seen: number[][] = [];
    try {
      await client.watchBitfield(addr, 'a'.repeat(64), count, undefined, 100, (bits) => seen.push(bits.indexes()));
      return { seen };
    } catch (error) {
      return { seen, error: error as Error };
    }
  };

  beforeAll(async () => {
    server = createServer((_req, res) => answer(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    addr = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('delivers every line, split across writes, and resolves when the parent ends the watch', async () => {
    answer = (res) => {
      res.writeHead(200, { 'content-type': WATCH_MEDIA_TYPE });
      const text = line([1]) + line([1, 4]);
      res.write(text.slice(0, 7));
      setTimeout(() => res.end(text.slice(7)), 50);
    };
    expect(await watchOnce()).toEqual({ seen: [[1], [1, 4]] });
  });

  it('cuts an error answer whose body never ends at 64 KiB instead of reading it forever', { timeout: 10_000 }, async () => {
    answer = (res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      const flood = setInterval(() => res.write(Buffer.alloc(16 * 1024, 32)), 5);
      res.on('close', () => clearInterval(flood));
    };
    // Before: the body was read to its end, which never came (bytes keep the idle timeout away).
    expect((await watchOnce()).error?.message).toContain('body over 65536 bytes');
  });

  it('takes a plain one-answer bitfield (a parent without watches) as a watch of one line', async () => {
    answer = (res) => res.end(line([2]).trim());
    expect(await watchOnce()).toEqual({ seen: [[2]] });
  });

  it('rejects a line for another piece count, a line that is not JSON, and a line without end', async () => {
    answer = (res) => res.end(line([0], count + 1));
    expect((await watchOnce()).error).toBeInstanceOf(PeerTransferError);
    answer = (res) => res.end('not json\n');
    expect((await watchOnce()).error?.message).toContain('not JSON');
    answer = (res) => {
      res.writeHead(200, { 'content-type': WATCH_MEDIA_TYPE });
      res.write(line([3]));
      res.write('x'.repeat(4096));
    };
    const endless = await watchOnce();
    expect(endless.seen).toEqual([[3]]);
    expect(endless.error).toBeInstanceOf(PeerTransferError);
    expect(endless.error?.message).toContain('longer than');
  });

  it('passes on the parent’s refusal as an error the downloader understands', async () => {
    answer = (res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'Unavailable', message: 'upload slots are full' }));
    };
    const { error } = await watchOnce();
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error?.message).toBe('upload slots are full');
  });
});
