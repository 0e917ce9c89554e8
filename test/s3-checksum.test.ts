import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.ts';
import { LocalStack } from '../local/local-stack.ts';
import { pullThrough, sha256File } from '../local/swarm-pull.ts';
import { startChecksumFront } from './fixtures/checksum-front.ts';
import { waitUntil } from './fixtures/wait-until.ts';

const MiB = 1024 * 1024;

/**
 * S3's own full-object SHA-256, where it stored one: the digest service reads
 * every byte anyway and checks it. s3rver stores no checksums, so a thin proxy
 * in front of the digest service's endpoint supplies them.
 */
describe('S3 full-object checksums', () => {
  const logLines: string[] = [];
  const checksums = new Map<string, string>();
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await LocalStack.start({
      log: createLogger({ sink: (line) => logLines.push(line), level: 'info' }),
      digestS3Front: (endpoint) => startChecksumFront(endpoint, (path) => checksums.get(path)),
    });
  }, 60_000);
  afterAll(async () => stack?.stop());

  const get = async (path: string) => (await fetch(`${stack.scheduler.url}${path}`, { headers: { authorization: `Bearer ${stack.token}` } })).json();
  const taskOf = async (url: string) => ((await get(`/v1/tasks?url=${encodeURIComponent(url)}`)) as { task: { id: string; pieceCount: number; quarantined?: boolean } }).task;

  it('the right checksum: digests computed, task healthy', async () => {
    const artifact = await stack.putArtifact('sums/right.bin', 20 * MiB);
    checksums.set(`/${stack.bucket}/sums/right.bin`, Buffer.from(artifact.sha256, 'hex').toString('base64'));
    const task = await taskOf(artifact.url);
    await waitUntil(async () => logLines.some((line) => line.includes('digests computed') && line.includes(task.id)));
    expect(logLines.find((line) => line.includes('digests computed') && line.includes(task.id))).toContain('"checksum":"match"');
    expect(((await get(`/v1/tasks/${task.id}/digests`)) as { digestCount: number }).digestCount).toBe(task.pieceCount);
    expect((await taskOf(artifact.url)).quarantined).toBeUndefined();
  }, 60_000);

  it('a wrong checksum: the task is quarantined (error log, metric) and pulls still deliver S3\'s bytes', async () => {
    const artifact = await stack.putArtifact('sums/wrong.bin', 20 * MiB);
    checksums.set(`/${stack.bucket}/sums/wrong.bin`, Buffer.alloc(32, 7).toString('base64'));
    const task = await taskOf(artifact.url);
    await waitUntil(async () => (await taskOf(artifact.url)).quarantined === true);
    expect(logLines.some((line) => line.includes('"level":"error"') && line.includes('manifest incident') && line.includes('checksum') && line.includes(task.id))).toBe(true);
    expect(stack.metricLines.some((line) => line.includes('"ManifestIncidents":1') && line.includes(task.id))).toBe(true);
    // While quarantined no digest is handed out, so no piece can pass from host to host.
    expect(((await get(`/v1/tasks/${task.id}/digests`)) as { digestCount: number }).digestCount).toBe(0);
    const agents = await stack.startAgents(2, 'sums');
    for (const agent of agents) {
      const output = join(stack.root, `${agent.name}-wrong.bin`);
      await pullThrough(agent, artifact.url, output);
      expect(await sha256File(output)).toBe(artifact.sha256);
    }
  }, 60_000);
});
