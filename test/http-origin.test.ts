import { existsSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpOriginServer } from './fixtures/http-origin-server.ts';
import { LocalStack } from '../local/local-stack.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';
import { pullThrough, sha256File } from '../local/swarm-pull.ts';
import type { AgentProcess } from '../local/agent-process.ts';
import { HttpOriginReader } from '../lambdas/stores/http-origin.ts';
import { OriginFetcher } from '../agent/origin/origin-fetcher.ts';
import { PieceWriter } from '../agent/cache/piece-writer.ts';
import { OriginChangedError } from '../core/errors.ts';
import { parseOriginUrl } from '../core/origin-url.ts';
import { localS3Client } from '../local/s3-server.ts';

const MiB = 1024 * 1024;

/**
 * HTTP(S) origins end to end: a real HTTP server of generated files, the real
 * scheduler with an allowlist, real agent processes and the CLI.
 */
describe('HTTP(S) origins', () => {
  let web: HttpOriginServer;
  let stack: LocalStack;
  let agents: AgentProcess[];

  beforeAll(async () => {
    web = await HttpOriginServer.start();
    stack = await LocalStack.start({
      // originRecheckMs 0: a changed file is noticed at the next pull.
      schedulerSettings: { allowedOrigins: [`${web.url}/allowed/`, 'mayfly-demo/'], originRecheckMs: 0 },
    });
    agents = await stack.startAgents(4, 'web');
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await web?.stop();
  });

  const pullStatus = async (agent: AgentProcess, url: string) => {
    const response = await fetch(`${agent.apiUrl}/v1/pulls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url }),
    });
    return { status: response.status, body: (await response.json()) as { message?: string; taskId?: string } };
  };

  it('four agents pulling one URL at once cost the web server about one copy', async () => {
    const file = await web.put('/allowed/release-32MiB.tar', 32 * MiB, 'release-1');
    const before = web.bytesServed;
    const results = await Promise.all(
      agents.map(async (agent) => {
        const output = join(stack.root, `${agent.name}-release.tar`);
        const result = await pullThrough(agent, file.url, output);
        return { ...result, sha256: await sha256File(output) };
      }),
    );
    for (const result of results) expect(result.sha256).toBe(file.sha256);
    const served = web.bytesServed - before;
    expect(served).toBeGreaterThanOrEqual(file.data.length);
    expect(served).toBeLessThanOrEqual(1.1 * file.data.length);
    expect(results.reduce((sum, result) => sum + result.bytesFromPeers, 0)).toBeGreaterThanOrEqual(2 * file.data.length);
    // The scheduler asked with HEAD; no agent ever downloaded the whole file in one GET.
    expect(web.requests.filter((line) => line === 'HEAD /allowed/release-32MiB.tar').length).toBeGreaterThanOrEqual(1);
  });

  it('refuses a URL outside the allowlist with a reason, without touching it', async () => {
    await web.put('/private/secret.bin', 1 * MiB, 'secret');
    const url = `${web.url}/private/secret.bin`;
    const { status, body } = await pullStatus(agents[0], url);
    expect(status).toBe(403);
    expect(body.message).toMatch(/outside this cluster's allowed origins/);
    // Another spelling of the host is another origin; dot segments cannot climb out of the prefix.
    expect((await pullStatus(agents[0], `${web.url.replace('127.0.0.1', 'localhost')}/allowed/x`)).status).toBe(403);
    expect((await pullStatus(agents[0], `${web.url}/allowed/../private/secret.bin`)).status).toBe(403);
    expect((await pullStatus(agents[0], `${web.url}/allowed/%2e%2e/private/secret.bin`)).status).toBe(403);
    const output = join(stack.root, 'secret.bin');
    const cli = await runMayfly(['get', url, '-o', output, '-q'], { PATH: process.env.PATH, MAYFLY_API: agents[0].apiUrl });
    expect(cli.code).toBe(4);
    expect(cli.stderr).toMatch(/allowed origins/);
    expect(existsSync(output)).toBe(false);
    expect(web.requests.some((line) => line.includes('/private/'))).toBe(false);
  });

  it('refuses an origin that gives no ETag or Last-Modified, and does not follow redirects', async () => {
    const file = await web.put('/allowed/unversioned.bin', 1 * MiB, 'unversioned', {});
    const { status, body } = await pullStatus(agents[1], file.url);
    expect(status).toBe(400);
    expect(body.message).toMatch(/no ETag or Last-Modified; cannot pin a version/);

    web.redirects.set('/allowed/moved.bin', `${web.url}/private/secret.bin`);
    const moved = await pullStatus(agents[1], `${web.url}/allowed/moved.bin`);
    expect(moved.status).toBe(400);
    expect(moved.body.message).toMatch(/redirects are not followed/);
    expect((await pullStatus(agents[1], `${web.url}/allowed/missing.bin`)).status).toBe(404);
    expect(web.requests.some((line) => line.includes('/private/'))).toBe(false);
  });

  it('falls back to the origin directly when the scheduler is down, with the same task id', async () => {
    const file = await web.put('/allowed/direct.bin', 5 * MiB, 'direct', { lastModified: new Date('2024-06-01T00:00:00Z') });
    stack.schedulerProxy.setFault({ kind: 'reset' });
    let result: Awaited<ReturnType<typeof pullThrough>> & { taskId?: string; direct?: boolean };
    try {
      result = await pullThrough(agents[1], file.url, join(stack.root, 'direct.bin'));
    } finally {
      stack.schedulerProxy.setFault(undefined);
    }
    expect(result.direct).toBe(true);
    expect(result.bytesFromOrigin).toBe(5 * MiB);
    expect(await sha256File(join(stack.root, 'direct.bin'))).toBe(file.sha256);
    const stat = (await (await fetch(`${agents[1].apiUrl}/v1/stat?url=${encodeURIComponent(file.url)}`)).json()) as { task: { id: string } };
    expect(stat.task.id).toBe(result.taskId);
  });

  it("gives up on a silent or closed origin as unavailable (the scheduler's HEAD)", async () => {
    web.hang.add('/allowed/slow.bin');
    const reader = new HttpOriginReader({ timeoutMs: 200 });
    await expect(reader.head(`${web.url}/allowed/slow.bin`)).rejects.toMatchObject({ code: 'Unavailable', message: expect.stringMatching(/within 200 ms/) });
    await expect(reader.head('http://127.0.0.1:1/x')).rejects.toMatchObject({ code: 'Unavailable', message: expect.stringMatching(/unreachable/) });
  });

  it('makes a changed file (new ETag) a new task with the new bytes', async () => {
    const v1 = await web.put('/allowed/tool.bin', 5 * MiB + 3, 'tool-v1');
    const first = await pullThrough(agents[2], v1.url, join(stack.root, 'tool-v1.bin'));
    expect(await sha256File(join(stack.root, 'tool-v1.bin'))).toBe(v1.sha256);
    const v2 = await web.put('/allowed/tool.bin', 6 * MiB + 5, 'tool-v2');
    expect(v2.etag).not.toBe(v1.etag);
    const second = await pullThrough(agents[2], v2.url, join(stack.root, 'tool-v2.bin'));
    expect(await sha256File(join(stack.root, 'tool-v2.bin'))).toBe(v2.sha256);
    expect((second as { taskId?: string }).taskId).toBeDefined();
    expect((second as { taskId?: string }).taskId).not.toBe((first as { taskId?: string }).taskId);
    expect(second.bytesFromOrigin).toBe(6 * MiB + 5);
  });

  it('refuses a piece read once the file changed under either kind of pin', async () => {
    const v1 = await web.put('/allowed/moving.bin', 4 * MiB, 'moving-1', { etag: true, lastModified: new Date('2024-01-01T00:00:00Z') });
    await web.put('/allowed/moving.bin', 4 * MiB, 'moving-2', { etag: true, lastModified: new Date('2024-02-01T00:00:00Z') });
    const fetcher = new OriginFetcher({ s3: localS3Client(stack.origin.endpoint), attempts: 1 });
    const location = parseOriginUrl(v1.url);
    const task = { id: 'e'.repeat(64), url: v1.url, size: 4 * MiB, pieceLength: 4 * MiB, pieceCount: 1 };
    await mkdir(join(stack.root, 'moving'), { recursive: true });
    const handle = await open(join(stack.root, 'moving', 'data'), 'w+');
    const writer = () => new PieceWriter(handle, { start: 0, end: 4 * MiB }, 'data');
    try {
      await expect(fetcher.fetchPiece({ ...task, etag: v1.etag! }, location, writer, 0)).rejects.toBeInstanceOf(OriginChangedError);
      const dated = `last-modified:${v1.lastModified}:${4 * MiB}`;
      await expect(fetcher.fetchPiece({ ...task, etag: dated }, location, writer, 0)).rejects.toBeInstanceOf(OriginChangedError);
    } finally {
      await handle.close();
    }
  });

  it('pins a server that sends only Last-Modified by date and length, and works from the CLI', async () => {
    const file = await web.put('/allowed/dated.bin', 9 * MiB + 1, 'dated', { lastModified: new Date('2024-05-01T10:00:00Z') });
    expect(file.etag).toBeUndefined();
    const output = join(stack.root, 'dated.bin');
    const env = { PATH: process.env.PATH, MAYFLY_API: agents[3].apiUrl };
    const cli = await runMayfly(['get', file.url, '-o', output, '--digest', `sha256:${file.sha256}`], env);
    expect(cli.stderr).toMatch(/from peers, .* from the origin/);
    expect(cli.code).toBe(0);
    expect(await sha256File(output)).toBe(file.sha256);
    // Every ranged read carried the pin.
    const swarm = (await (await fetch(`${agents[3].apiUrl}/v1/stat?url=${encodeURIComponent(file.url)}`)).json()) as { task: { etag: string } };
    expect(swarm.task.etag).toBe(`last-modified:${file.lastModified}:${9 * MiB + 1}`);
    // A second agent gets it from the first.
    const again = await pullThrough(agents[0], file.url, join(stack.root, 'dated-2.bin'));
    expect(again.bytesFromPeers).toBe(9 * MiB + 1);
    expect(await sha256File(join(stack.root, 'dated-2.bin'))).toBe(file.sha256);
  });

  it('reads a server that answers ranges chunked (no Content-Length), counting the bytes against Content-Range', async () => {
    const file = await web.put('/allowed/chunked.bin', 9 * MiB + 5, 'chunked', { etag: true, chunked: true });
    const output = join(stack.root, 'chunked.bin');
    const result = await pullThrough(agents[1], file.url, output);
    expect(result.bytesFromOrigin + result.bytesFromPeers).toBe(9 * MiB + 5);
    expect(await sha256File(output)).toBe(file.sha256);
  });
});
