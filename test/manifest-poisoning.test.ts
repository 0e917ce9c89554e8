import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.ts';
import { LocalStack } from '../local/local-stack.ts';
import { pullThrough, sha256File } from '../local/swarm-pull.ts';
import { HttpOriginServer } from './fixtures/http-origin-server.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';
import { startRogueAttester } from './fixtures/rogue-attester.ts';
import { waitUntil } from './fixtures/wait-until.ts';

const MiB = 1024 * 1024;

/**
 * Issue 13, case 1: a fleet host with a valid token publishes piece digests of
 * bytes it chose (with a lease it got from a made-up site) and serves those
 * bytes. Real processes: a rogue speaking the wire protocol, honest agents, the
 * scheduler (with its in-process digest service), s3rver and dynalite.
 */
describe('case 1: manifest poisoning', () => {
  const logLines: string[] = [];
  let stack: LocalStack;
  let web: HttpOriginServer;

  beforeAll(async () => {
    web = await HttpOriginServer.start();
    stack = await LocalStack.start({
      log: createLogger({ sink: (line) => logLines.push(line), level: 'info' }),
      schedulerSettings: { allowedOrigins: [`${web.url}/files/`, 'mayfly-demo/'] },
      attestedQuarantineMs: 4_000,
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await web?.stop();
  });

  const get = async (path: string) => (await fetch(`${stack.scheduler.url}${path}`, { headers: { authorization: `Bearer ${stack.token}` } })).json();

  it('S3 task: the rogue\'s digests are refused (403) and honest pulls deliver S3\'s bytes', async () => {
    const artifact = await stack.putArtifact('poison/s3-object.bin', 24 * MiB);
    const rogue = await startRogueAttester({ peerId: 'rogue-s3', schedulerUrl: stack.scheduler.url, token: await stack.agentToken('rogue-s3', { site: 'rogue-rogue-s3' }), url: artifact.url });
    try {
      expect(rogue.granted).toBe(true); // a compromised host holds the lease of its own site
      expect(rogue.publishStatus).toBe(403);
      const [cliAgent, ...others] = await stack.startAgents(3, 's3-honest');
      const cliOutput = join(stack.root, 'cli-s3-object.bin');
      const [cli, ...pulls] = await Promise.all([
        runMayfly(['get', artifact.url, '-o', cliOutput, '-q'], { PATH: process.env.PATH, MAYFLY_API: cliAgent.apiUrl }),
        ...others.map(async (agent) => {
          const output = join(stack.root, `${agent.name}-s3-object.bin`);
          const result = await pullThrough(agent, artifact.url, output);
          return { ...result, sha256: await sha256File(output) };
        }),
      ]);
      expect(cli.code).toBe(0);
      expect(await sha256File(cliOutput)).toBe(artifact.sha256);
      // Every honest file, the back-to-source holder's included, is exactly S3's bytes.
      for (const pull of pulls) expect(pull.sha256).toBe(artifact.sha256);
      const manifest = (await get(`/v1/tasks/${rogue.taskId}/digests`)) as { digestCount: number };
      expect(manifest.digestCount).toBe(6);
    } finally {
      await rogue.stop();
    }
  }, 120_000);

  it('HTTP(S) task: a conflicting attestation quarantines the task (error log, metric), the manifest is re-derived, pulls deliver the origin\'s bytes', async () => {
    const file = await web.put('/files/poison.bin', 24 * MiB, 'poison-http');
    const [first] = await stack.startAgents(1, 'web-first');
    await pullThrough(first, file.url, join(stack.root, 'web-first.bin'));
    const lookup = (await (await fetch(`${stack.scheduler.url}/v1/tasks?url=${encodeURIComponent(file.url)}`, { headers: { authorization: `Bearer ${stack.token}` } })).json()) as {
      task: { id: string; pieceCount: number; pieceLength: number; digestSource: string };
    };
    const task = lookup.task;
    expect(task.digestSource).toBe('attested');
    await waitUntil(async () => ((await get(`/v1/tasks/${task.id}/digests`)) as { digestCount: number }).digestCount === task.pieceCount);

    const rogue = await startRogueAttester({ peerId: 'rogue-web', schedulerUrl: stack.scheduler.url, token: await stack.agentToken('rogue-web', { site: 'rogue-rogue-web' }), url: file.url });
    try {
      expect(rogue.publishStatus).toBe(409);
      const view = (await get(`/v1/tasks/${task.id}`)) as { task: { quarantined?: boolean } };
      expect(view.task.quarantined).toBe(true);
      expect(logLines.some((line) => line.includes('"level":"error"') && line.includes('manifest incident') && line.includes(task.id))).toBe(true);
      expect(stack.metricLines.some((line) => line.includes('"ManifestIncidents":1') && line.includes(task.id))).toBe(true);

      const agents = await stack.startAgents(2, 'web-honest');
      const cliOutput = join(stack.root, 'cli-poison.bin');
      const [cli, pull] = await Promise.all([
        runMayfly(['get', file.url, '-o', cliOutput, '-q'], { PATH: process.env.PATH, MAYFLY_API: agents[0].apiUrl }),
        pullThrough(agents[1], file.url, join(stack.root, 'web-honest-2.bin')),
      ]);
      expect(cli.code).toBe(0);
      expect(await sha256File(cliOutput)).toBe(file.sha256);
      expect(await sha256File(join(stack.root, 'web-honest-2.bin'))).toBe(file.sha256);
      expect(pull.size).toBe(24 * MiB);
    } finally {
      await rogue.stop();
    }

    // The quarantine lifts; the next lease holder attests again, and the manifest is the origin's.
    await waitUntil(async () => !((await get(`/v1/tasks/${task.id}`)) as { task: { quarantined?: boolean } }).task.quarantined);
    const [late] = await stack.startAgents(1, 'web-late');
    const lateOutput = join(stack.root, 'web-late.bin');
    await pullThrough(late, file.url, lateOutput);
    expect(await sha256File(lateOutput)).toBe(file.sha256);
    const bytes = Buffer.from(await (await fetch(file.url)).arrayBuffer());
    const expected: Record<string, string> = {};
    for (let index = 0; index < task.pieceCount; index++) {
      expected[String(index)] = createHash('sha256').update(bytes.subarray(index * task.pieceLength, (index + 1) * task.pieceLength)).digest('hex');
    }
    await waitUntil(async () => ((await get(`/v1/tasks/${task.id}/digests`)) as { digestCount: number }).digestCount === task.pieceCount);
    expect(((await get(`/v1/tasks/${task.id}/digests`)) as { digests: Record<string, string> }).digests).toEqual(expected);
  }, 120_000);
});
