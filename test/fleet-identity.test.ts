import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';
import { swarmPull } from '../local/swarm-pull.ts';

/**
 * Issue 13, cases 2, 4, 8 and 9: a rogue host holding a valid agent credential of
 * its own speaks the scheduler's wire protocol against a real local stack (the
 * scheduler and manager on Node, dynalite, the S3-compatible server) with honest agents.
 */
describe('fleet identity', () => {
  let stack: LocalStack;
  let rogueToken: string;

  /** The credential an agent host holds: its own enrolled token (before the fix: the stack's one shared token). */
  const credentialOf = async (peerId: string, enrolment: Record<string, unknown> = {}): Promise<string> => {
    const enrol = (stack as unknown as { enrolAgent?: (peerId: string, enrolment: unknown) => Promise<string> }).enrolAgent;
    return enrol ? enrol.call(stack, peerId, enrolment) : stack.token;
  };
  const call = (base: string, method: string, path: string, token: string, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const toScheduler = (method: string, path: string, token: string, body?: unknown) => call(stack.scheduler.url, method, path, token, body);
  const rogueAnnounce = (artifact: Artifact, extra: Record<string, unknown> = {}, token = rogueToken) =>
    toScheduler('POST', '/v1/announce', token, { url: artifact.url, peerId: 'rogue', addr: 'http://127.0.0.1:9', event: 'register', ...extra });
  const swarmOf = async (taskId: string) =>
    (await (await toScheduler('GET', `/v1/tasks/${taskId}`, stack.token)).json()) as { peers: Array<{ peerId: string; addr: string }>; blocked: string[] };

  beforeAll(async () => {
    stack = await LocalStack.start();
    rogueToken = await credentialOf('rogue');
  });
  afterAll(async () => stack?.stop());

  describe('case 9: agent and operator credentials are separate', () => {
    it('an agent host cannot change cluster settings or mint tokens with its credential', async () => {
      const agent = await stack.startAgent('case9-agent');
      const token = stack.agentEnv(agent.name).MAYFLY_TOKEN!;
      const put = await call(stack.manager.url, 'PUT', '/v1/clusters/case9-probe', token, { settings: {} });
      expect(put.status).toBe(401);
      const mint = await call(stack.manager.url, 'POST', '/v1/tokens', token, { name: 'stolen' });
      expect(mint.status).toBe(401);
      expect((await call(stack.manager.url, 'GET', '/v1/clusters', token)).status).toBe(401);
    });

    it("the operator's token is no agent credential on the scheduler", async () => {
      const artifact = await stack.putArtifact('identity/operator.bin', 1024 * 1024);
      const announce = await toScheduler('POST', '/v1/announce', stack.token, { url: artifact.url, peerId: 'op', addr: 'http://127.0.0.1:9', event: 'register' });
      expect(announce.status).toBe(403);
      expect(((await announce.json()) as { message: string }).message).toMatch(/agent credential/);
    });

    it('an agent reads only tasks its cluster admits', async () => {
      await call(stack.manager.url, 'PUT', '/v1/clusters/narrow', stack.token, { settings: { allowedOrigins: [`${stack.bucket}/narrow/`] } });
      const outside = await stack.putArtifact('identity/outside.bin', 1024 * 1024);
      const honest = await credentialOf('wide-agent');
      const taskId = ((await (await toScheduler('POST', '/v1/announce', honest, { url: outside.url, peerId: 'wide-agent', addr: 'http://127.0.0.1:9', event: 'register' })).json()) as { task: { id: string } }).task.id;
      const narrow = await credentialOf('narrow-agent', { cluster: 'narrow' });
      expect((await toScheduler('GET', `/v1/tasks/${taskId}`, narrow)).status).toBe(403);
      expect((await toScheduler('GET', `/v1/tasks/${taskId}/digests`, narrow)).status).toBe(403);
      expect((await toScheduler('GET', `/v1/tasks?url=${encodeURIComponent(outside.url)}`, narrow)).status).toBe(403);
    });
  });

  describe('case 2: unknown cluster', () => {
    it('an announce, stat or heartbeat of a cluster that does not exist is refused with nothing granted', async () => {
      const artifact = await stack.putArtifact('identity/ghost.bin', 1024 * 1024);
      const ghost = await credentialOf('ghost-agent', { cluster: 'ghost' });
      const answers = [
        await rogueAnnounce(artifact, { cluster: 'no-such-cluster' }),
        await toScheduler('POST', '/v1/announce', ghost, { url: artifact.url, peerId: 'ghost-agent', cluster: 'ghost', addr: 'http://127.0.0.1:9', event: 'register' }),
        await toScheduler('GET', `/v1/tasks?url=${encodeURIComponent(artifact.url)}&cluster=no-such-cluster`, rogueToken),
        await toScheduler('POST', '/v1/hosts/heartbeat', ghost, { peerId: 'ghost-agent', cluster: 'ghost' }),
      ];
      for (const answer of answers) {
        expect([403, 404]).toContain(answer.status);
        const body = (await answer.json()) as { backToSource?: boolean; origin?: unknown };
        expect(body.backToSource).toBeUndefined();
        expect(body.origin).toBeUndefined();
      }
    });
  });

  describe('case 4: a host speaks only for itself', () => {
    it('cannot announce as another peer, rewrite its address, claim to be a seed or advertise a third party', async () => {
      const artifact = await stack.putArtifact('identity/claims.bin', 2 * 1024 * 1024);
      const [victim] = await Promise.all([stack.startAgent('claims-victim')]);
      await swarmPull(stack, artifact, [victim]);
      const attempts = [
        { peerId: 'claims-victim', addr: 'http://127.0.0.1:9' },
        { seed: true },
        { addr: 'http://192.0.2.10:80' },
        { site: 'elsewhere' },
      ];
      for (const extra of attempts) expect((await rogueAnnounce(artifact, extra)).status, JSON.stringify(extra)).toBe(403);
      const registered = (await (await rogueAnnounce(artifact)).json()) as { task: { id: string } };
      const leave = await toScheduler('POST', `/v1/tasks/${registered.task.id}/leave`, rogueToken, { peerId: 'claims-victim' });
      expect(leave.status).toBe(403);
      const swarm = await swarmOf(registered.task.id);
      const victimRecord = swarm.peers.find((peer) => peer.peerId === 'claims-victim');
      expect(victimRecord?.addr).not.toBe('http://127.0.0.1:9');
      expect(swarm.peers.filter((peer) => peer.addr.includes('192.0.2.10'))).toEqual([]);
    });

    it('a report is evidence: it cannot lock a host out of an object, nor withhold an honest parent on its own', async () => {
      const artifact = await stack.putArtifact('identity/reports.bin', 8 * 1024 * 1024);
      // Reported before it ever touched the object: the victim still pulls it.
      const first = (await (await rogueAnnounce(artifact, { badParents: ['report-victim'] })).json()) as { task: { id: string } };
      const victim = await stack.startAgent('report-victim');
      const pulled = await swarmPull(stack, artifact, [victim]);
      expect(pulled.agents[0].sha256ok).toBe(true);
      // One rogue reporting the complete honest parent does not hide it from a newcomer.
      await rogueAnnounce(artifact, { event: 'progress', taskId: first.task.id, badParents: ['report-victim'] });
      const newcomer = await stack.startAgent('report-newcomer');
      const report = await swarmPull(stack, artifact, [newcomer]);
      expect(report.agents[0].sha256ok).toBe(true);
      expect(report.agents[0].bytesFromPeers).toBeGreaterThan(0);
      expect((await swarmOf(first.task.id)).blocked).not.toContain('report-victim');
    });
  });

  describe('case 8: announce flood', () => {
    it('fake registrations are refused, one identity holds one peer record, and an honest newcomer still uses the swarm', async () => {
      const artifact = await stack.putArtifact('identity/flood.bin', 8 * 1024 * 1024);
      const sources = await Promise.all([stack.startAgent('flood-a'), stack.startAgent('flood-b')]);
      await swarmPull(stack, artifact, sources);
      const statuses = new Map<number, number>();
      for (let batch = 0; batch < 30; batch++) {
        const answers = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            rogueAnnounce(artifact, { peerId: `fake-${batch}-${i}`, addr: `http://127.0.0.1:${20_000 + batch * 20 + i}`, completed: 2 }),
          ),
        );
        for (const answer of answers) statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      }
      expect(statuses.get(200) ?? 0).toBe(0);
      const mine = (await (await rogueAnnounce(artifact, { completed: 2 })).json()) as { task: { id: string } };
      const swarm = await swarmOf(mine.task.id);
      expect(swarm.peers.filter((peer) => peer.peerId.startsWith('fake-') || peer.peerId === 'rogue').length).toBe(1);
      const newcomer = await stack.startAgent('flood-newcomer');
      const report = await swarmPull(stack, artifact, [newcomer]);
      expect(report.agents[0].sha256ok).toBe(true);
      expect(report.agents[0].bytesFromPeers).toBe(artifact.size);
    });

    it('one identity registering for too many tasks a minute is answered 429 with Retry-After', async () => {
      const flooder = await credentialOf('task-flooder');
      let limited: Response | undefined;
      // Up to two minute-windows of the default cap (600), should the run straddle a minute boundary.
      for (let batch = 0; batch < 62 && !limited; batch++) {
        const answers = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            toScheduler('POST', '/v1/announce', flooder, {
              url: `s3://${stack.bucket}/flood/${batch}-${i}.bin`, peerId: 'task-flooder', addr: 'http://127.0.0.1:9', event: 'register',
            }),
          ),
        );
        limited = answers.find((answer) => answer.status === 429);
      }
      expect(limited?.status).toBe(429);
      expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Another identity is not affected.
      const other = await stack.putArtifact('identity/unaffected.bin', 1024 * 1024);
      const honest = await credentialOf('unaffected');
      expect((await toScheduler('POST', '/v1/announce', honest, { url: other.url, peerId: 'unaffected', addr: 'http://127.0.0.1:9', event: 'register' })).status).toBe(200);
    });
  });
});
