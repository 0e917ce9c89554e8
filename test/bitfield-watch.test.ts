import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bitfield } from '../core/bitfield.ts';
import { PEER_CREDENTIAL_HEADER, deriveTaskKey, issueCredential } from '../core/peer-credential.ts';
import { KNOWN_HEADER, WAIT_HEADER } from '../agent/bitfield-watch.ts';
import type { AgentProcess } from './stack/agent-process.ts';
import type { Artifact } from './stack/artifact.ts';
import { LocalStack } from './stack/local-stack.ts';

const MiB = 1024 * 1024;
const PIECE = 4 * MiB;

/** A child's long poll on a parent's bitfield, against a real agent's peer port. */
describe('bitfield watch (peer API long poll)', () => {
  let stack: LocalStack;
  let parent: AgentProcess;
  let artifact: Artifact;
  let taskId: string;
  let pieceCount: number;

  const readPiece = async (index: number) => {
    const response = await fetch(`${parent.apiUrl}/v1/objects?url=${encodeURIComponent(artifact.url)}`, {
      headers: { range: `bytes=${index * PIECE}-${index * PIECE + 99}` },
    });
    expect(response.status).toBe(206);
    await response.arrayBuffer();
  };

  const bitfield = async (headers: Record<string, string> = {}) => {
    const credential = issueCredential(deriveTaskKey(stack.peerSecret, taskId), taskId, 'watcher', Date.now() + 60_000);
    const response = await fetch(`http://127.0.0.1:${parent.peerPort}/v1/tasks/${taskId}/bitfield`, {
      headers: { [PEER_CREDENTIAL_HEADER]: credential, ...headers },
    });
    const body = (await response.json()) as { pieceCount: number; bitfield: string; message?: string };
    return { status: response.status, body, pieces: response.ok ? Bitfield.fromBase64(pieceCount, body.bitfield) : undefined };
  };

  beforeAll(async () => {
    stack = await LocalStack.start();
    artifact = await stack.putArtifact('watch/object.bin', 3 * PIECE);
    parent = await stack.startAgent('watch-parent');
    await readPiece(0);
    const { tasks } = (await (await fetch(`${parent.apiUrl}/v1/tasks`)).json()) as { tasks: Array<{ taskId: string; url: string }> };
    taskId = tasks.find((task) => task.url === artifact.url)!.taskId;
    pieceCount = 3;
    // A piece read from S3 is advertised once its digest is published, a moment after it is stored.
    const deadline = Date.now() + 10_000;
    while ((await bitfield()).pieces?.count !== 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  });
  afterAll(async () => stack?.stop());

  it('answers at once without watch headers', async () => {
    const { status, pieces } = await bitfield();
    expect(status).toBe(200);
    expect(pieces!.indexes()).toEqual([0]);
  });

  it('holds the request until the parent has a piece the child has not heard of', async () => {
    const { pieces: known } = await bitfield();
    const started = Date.now();
    const watching = bitfield({ [KNOWN_HEADER]: known!.toBase64(), [WAIT_HEADER]: '8000' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await readPiece(2);
    const { status, pieces } = await watching;
    expect(status).toBe(200);
    expect(pieces!.indexes()).toEqual([0, 2]);
    // Answered because of the news, not because the 8 s wait ran out.
    expect(Date.now() - started).toBeLessThan(7_000);
  });

  it('answers with the unchanged set when the wait ends without news', async () => {
    const { pieces: known } = await bitfield();
    const { status, pieces } = await bitfield({ [KNOWN_HEADER]: known!.toBase64(), [WAIT_HEADER]: '300' });
    expect(status).toBe(200);
    expect(pieces!.indexes()).toEqual(known!.indexes());
  });

  it('answers at once when the parent already has news', async () => {
    const { status, pieces } = await bitfield({ [KNOWN_HEADER]: new Bitfield(pieceCount).toBase64(), [WAIT_HEADER]: '8000' });
    expect(status).toBe(200);
    expect(pieces!.count).toBeGreaterThan(0);
  });

  it('refuses malformed watch headers with a reason', async () => {
    const empty = new Bitfield(pieceCount).toBase64();
    const cases: Record<string, string>[] = [
      { [KNOWN_HEADER]: empty },
      { [WAIT_HEADER]: '100' },
      { [KNOWN_HEADER]: empty, [WAIT_HEADER]: '99999' },
      { [KNOWN_HEADER]: empty, [WAIT_HEADER]: '-1' },
      { [KNOWN_HEADER]: new Bitfield(pieceCount + 9).toBase64(), [WAIT_HEADER]: '100' },
      { [KNOWN_HEADER]: '!!', [WAIT_HEADER]: '100' },
    ];
    for (const headers of cases) {
      const { status, body } = await bitfield(headers);
      expect(status, JSON.stringify(headers)).toBe(400);
      expect(body.message).toBeTruthy();
    }
  });
});
