import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEER_CREDENTIAL_HEADER, derivePeerSigningKey, issueCredential } from '../core/peer-credential.ts';
import { AgentProcess } from '../local/agent-process.ts';
import type { Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';
import { pullThrough } from '../local/swarm-pull.ts';

const MiB = 1024 * 1024;

interface Answer {
  task: { id: string };
  peerAuth?: { publicKey?: string; taskKey?: string; credential: string; expiresAt: number };
}

/**
 * Issue 13, cases 3 and 6: only the scheduler can mint peer credentials, and a parent
 * never serves a child without one. A rogue host speaks the wire protocol to the real
 * scheduler and a real agent's peer server.
 */
describe('peer credentials', () => {
  let stack: LocalStack;
  let parent: AgentProcess;
  let artifact: Artifact;
  let taskId: string;

  beforeAll(async () => {
    stack = await LocalStack.start();
    artifact = await stack.putArtifact('peer-auth/model.bin', 4 * MiB);
    parent = await stack.startAgent('parent');
    await pullThrough(parent, artifact.url, join(stack.root, 'parent.bin'));
    taskId = (await rogueAnnounce('register')).body.task.id;
  }, 60_000);
  afterAll(() => stack?.stop());

  /** The rogue host: holds an agent token of its own and announces as `rogue`. */
  async function rogueAnnounce(event: 'register' | 'lookup'): Promise<{ status: number; body: Answer }> {
    const response = await fetch(`${stack.scheduler.url}/v1/announce`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await stack.agentToken('rogue')}` },
      body: JSON.stringify({ url: artifact.url, peerId: 'rogue', addr: 'http://127.0.0.1:9', event }),
    });
    return { status: response.status, body: (await response.json()) as Answer };
  }

  const askPiece = (agent: AgentProcess, credential?: string) =>
    fetch(`http://127.0.0.1:${agent.peerPort}/v1/tasks/${taskId}/pieces/0`, { headers: credential ? { [PEER_CREDENTIAL_HEADER]: credential } : {} }).then(
      async (response) => {
        await response.arrayBuffer();
        return response.status;
      },
    );

  it('a lookup-only announcer gets no credential, and no answer carries a key that can mint', async () => {
    const lookup = await rogueAnnounce('lookup');
    expect(lookup.status).toBe(200);
    expect(lookup.body.peerAuth).toBeUndefined();
    const registered = await rogueAnnounce('register');
    expect(registered.body.peerAuth?.taskKey).toBeUndefined();
    expect(registered.body.peerAuth?.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(registered.body.peerAuth!.expiresAt - Date.now()).toBeLessThanOrEqual(15 * 60_000);
  });

  it('a credential minted by anyone but the scheduler is refused by a real parent (401/403)', async () => {
    const { body } = await rogueAnnounce('register');
    const expires = 9_999_999_999_999; // 2286
    const forged: string[] = [];
    // Whatever key the answer carries, the rogue mints with it: HMAC as the old task key worked...
    for (const key of [body.peerAuth?.taskKey, body.peerAuth?.publicKey]) {
      if (!key) continue;
      const mac = (peer: string, at: number) => createHmac('sha256', key).update(`${taskId}\n${peer}\n${at}`).digest('base64url');
      forged.push(`rogue.${expires}.${mac('rogue', expires)}`, `other.${Date.now() + 60_000}.${mac('other', Date.now() + 60_000)}`);
    }
    // ...a self-made Ed25519 key...
    const own = generateKeyPairSync('ed25519');
    const message = `mayfly-peer-credential/v1\n${taskId}\nrogue\n${Date.now() + 60_000}`;
    forged.push(`rogue.${Date.now() + 60_000}.${sign(null, Buffer.from(message), own.privateKey).toString('base64url')}`);
    // ...its own credential stretched to 2286, and one the scheduler's key signed for 2286 (never issued; refused anyway).
    const own15 = body.peerAuth!.credential;
    forged.push(own15.replace(/\.\d+\./, `.${expires}.`));
    forged.push(issueCredential(derivePeerSigningKey(stack.peerSecret), taskId, 'rogue', expires));
    for (const credential of forged) expect([401, 403], credential).toContain(await askPiece(parent, credential));
    expect(await askPiece(parent)).toBe(401);
    // The credential the scheduler issued it is good for its 15 minutes: the parent itself works.
    expect(await askPiece(parent, own15)).toBe(200);
  });

  it('a peer without a credential cannot tell which tasks a parent holds: a cached and an unknown task both answer 401', async () => {
    const unknown = 'f'.repeat(64);
    for (const path of [`/v1/tasks/${taskId}/bitfield`, `/v1/tasks/${unknown}/bitfield`, `/v1/tasks/${taskId}/pieces/0`, `/v1/tasks/${unknown}/pieces/0`]) {
      const answer = await fetch(`http://127.0.0.1:${parent.peerPort}${path}`);
      await answer.arrayBuffer();
      expect({ path, status: answer.status }).toEqual({ path, status: 401 });
    }
  });

  it('a restarted agent with no marker file refuses unauthenticated peers before it announces again', async () => {
    await parent.stop();
    // The old "auth required" latch was a best-effort marker; it is gone, and the scheduler is down.
    await rm(join(stack.root, 'agents', 'parent', 'peer-auth-required'), { force: true });
    stack.schedulerProxy.setFault({ kind: 'reset' });
    try {
      const restarted = new AgentProcess({ name: 'parent', env: stack.agentEnv('parent') });
      await restarted.start();
      stack.agents.push(restarted);
      expect(await askPiece(restarted)).toBe(401);
      // It checks at once with the public key it kept: a scheduler-issued credential works.
      expect(await askPiece(restarted, issueCredential(derivePeerSigningKey(stack.peerSecret), taskId, 'child', Date.now() + 60_000))).toBe(200);
    } finally {
      stack.schedulerProxy.setFault(undefined);
    }
  });

  it('an agent whose cache survived but whose scheduler key did not serves no one: 503 with a retry hint', async () => {
    const dataDir = join(stack.root, 'agents', 'copied');
    await cp(join(stack.root, 'agents', 'parent'), dataDir, { recursive: true });
    await rm(join(dataDir, 'peer-public-key'), { force: true });
    await rm(join(dataDir, 'peer-auth-required'), { force: true });
    stack.schedulerProxy.setFault({ kind: 'reset' });
    try {
      const copied = await stack.startAgent('copied');
      const response = await fetch(`http://127.0.0.1:${copied.peerPort}/v1/tasks/${taskId}/pieces/0`);
      await response.arrayBuffer();
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBeTruthy();
      expect(await askPiece(copied, issueCredential(derivePeerSigningKey(stack.peerSecret), taskId, 'child', Date.now() + 60_000))).toBe(503);
    } finally {
      stack.schedulerProxy.setFault(undefined);
    }
  });
});
