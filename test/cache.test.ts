import { spawn } from 'node:child_process';
import { constants, readdirSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAYFLY_BIN, type AgentProcess } from '../local/agent-process.ts';
import type { Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';
import { pullThrough, sha256File } from '../local/swarm-pull.ts';

const MiB = 1024 * 1024;

interface CacheView {
  usedBytes: number;
  quotaBytes: number;
  tasks: Array<{ taskId: string; url: string; complete: boolean }>;
}

async function mayfly(args: string[], api: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const result = await runMayfly(args, { PATH: process.env.PATH, MAYFLY_API: api });
  return { ...result, stdout: result.stdout.toString() };
}

/** The agent's disk cache: quota, LRU eviction, restarts, the cache CLI, and single flight. */
describe('agent cache', () => {
  let stack: LocalStack;
  let agent: AgentProcess;
  const objects: Artifact[] = [];
  const cache = async (): Promise<CacheView> => (await fetch(`${agent.apiUrl}/v1/cache`)).json() as Promise<CacheView>;
  const cachedUrls = async () => (await cache()).tasks.map((task) => task.url).sort();

  beforeAll(async () => {
    stack = await LocalStack.start();
    for (const name of ['a', 'b', 'c', 'd']) objects.push(await stack.putArtifact(`cache/${name}.bin`, 9 * MiB, name));
    agent = await stack.startAgent('cached', { MAYFLY_CACHE_QUOTA: '20MiB' });
  });
  afterAll(async () => stack?.stop());

  it('evicts the least recently used task to stay within its quota', async () => {
    const [a, b, c] = objects;
    await pullThrough(agent, a.url, join(stack.root, 'a.bin'));
    await pullThrough(agent, b.url, join(stack.root, 'b.bin'));
    expect(await cachedUrls()).toEqual([a.url, b.url]);
    await pullThrough(agent, c.url, join(stack.root, 'c.bin'));
    expect(await cachedUrls()).toEqual([b.url, c.url]);
    const view = await cache();
    expect(view.usedBytes).toBeLessThanOrEqual(view.quotaBytes);
    expect(view.quotaBytes).toBe(20 * MiB);
  });

  it('counts a cache hit as a use', async () => {
    const [, b, c, d] = objects;
    const before = stack.origin.bytesOut();
    await pullThrough(agent, b.url, join(stack.root, 'b-again.bin'));
    expect(stack.origin.bytesOut()).toBe(before);
    await pullThrough(agent, d.url, join(stack.root, 'd.bin'));
    // c was used longest ago now, so it went; b stayed.
    expect(await cachedUrls()).toEqual([b.url, d.url]);
    expect(await cachedUrls()).not.toContain(c.url);
  });

  it('survives a restart', async () => {
    const before = await cachedUrls();
    await agent.stop();
    agent = await stack.startAgent('cached', { MAYFLY_CACHE_QUOTA: '20MiB' });
    expect(await cachedUrls()).toEqual(before);
    const served = stack.origin.bytesOut();
    const output = join(stack.root, 'after-restart.bin');
    await pullThrough(agent, objects[1].url, output);
    expect(stack.origin.bytesOut()).toBe(served);
    expect(await sha256File(output)).toBe(objects[1].sha256);
  });

  it('is managed with mayfly cache ls | rm | gc', async () => {
    const listing = await mayfly(['cache', 'ls'], agent.apiUrl);
    expect(listing.code).toBe(0);
    expect(listing.stdout).toContain(objects[1].url);
    expect(listing.stdout).toMatch(/cache: 18\.0 MiB of 20\.0 MiB quota/);
    const victim = (await cache()).tasks.find((task) => task.url === objects[3].url)!;
    // The short id `cache ls` prints is enough.
    expect(listing.stdout).toContain(victim.taskId.slice(0, 12));
    const removed = await mayfly(['cache', 'rm', victim.taskId.slice(0, 12)], agent.apiUrl);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain(`removed ${victim.taskId}`);
    expect(await cachedUrls()).toEqual([objects[1].url]);
    const gc = await mayfly(['cache', 'gc', '--json'], agent.apiUrl);
    expect(JSON.parse(gc.stdout)).toMatchObject({ evicted: [], usedBytes: 9 * MiB });
    expect((await mayfly(['cache', 'rm', 'not-a-task'], agent.apiUrl)).code).toBe(2);
    expect((await mayfly(['cache', 'rm', 'f'.repeat(64)], agent.apiUrl)).code).toBe(3);
    expect((await mayfly(['cache', 'rm', 'fff'], agent.apiUrl)).code).toBe(3);
  });

  it('removes by URL, and stops quietly when its reader is gone (`cache ls | head -1`)', async () => {
    const extra = await stack.putArtifact('cache/by-url.bin', MiB, 'by-url');
    await pullThrough(agent, extra.url, join(stack.root, 'by-url.bin'));
    const piped = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const shell = spawn('bash', ['--norc', '--noprofile', '-c', `set -o pipefail; "${process.execPath}" "${MAYFLY_BIN}" cache ls | true`], {
        env: { PATH: process.env.PATH, MAYFLY_API: agent.apiUrl },
      });
      let stderr = '';
      shell.stderr.on('data', (chunk) => (stderr += chunk));
      shell.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(piped.stderr).toBe('');
    expect(piped.code).toBe(0);
    const removed = await mayfly(['cache', 'rm', extra.url], agent.apiUrl);
    expect(removed.code).toBe(0);
    expect(await cachedUrls()).not.toContain(extra.url);
    expect((await mayfly(['cache', 'rm', extra.url], agent.apiUrl)).code).toBe(3);
  });

  it('shares one download among concurrent pulls of the same object (single flight)', async () => {
    const shared = await stack.putArtifact('cache/shared.bin', 16 * MiB, 'shared');
    const fresh = await stack.startAgent('single-flight');
    const before = stack.origin.bytesOut();
    const outputs = [1, 2, 3, 4].map((i) => join(stack.root, `shared-${i}.bin`));
    await Promise.all(outputs.map((output) => pullThrough(fresh, shared.url, output)));
    expect(stack.origin.bytesOut() - before).toBe(shared.size);
    for (const output of outputs) expect(await sha256File(output)).toBe(shared.sha256);
  });

  it('mayfly get writes the whole object when some pieces were cached before the pull, and leaves nothing else', async () => {
    const object = await stack.putArtifact('cache/mirrored.bin', 18 * MiB + 5, 'mirrored');
    const fresh = await stack.startAgent('mirrored');
    // Pieces 1 and 4 (of 5) are in the cache before the pull: read through the agent's HTTP API.
    for (const index of [1, 4]) {
      const start = index * 4 * MiB;
      const response = await fetch(`${fresh.apiUrl}/v1/objects?url=${encodeURIComponent(object.url)}`, { headers: { range: `bytes=${start}-${start + 9}` } });
      expect(response.status).toBe(206);
      await response.arrayBuffer();
    }
    const folder = join(stack.root, 'mirrored-out');
    await mkdir(folder);
    const result = await mayfly(['get', object.url, '-o', join(folder, 'object.bin')], fresh.apiUrl);
    expect(result.code).toBe(0);
    expect(await sha256File(join(folder, 'object.bin'))).toBe(object.sha256);
    // Nothing else beside it: the temp file became the output.
    expect(readdirSync(folder)).toEqual(['object.bin']);
  });
});
