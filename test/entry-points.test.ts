import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import { LocalStack } from '../local/local-stack.ts';
import { sha256File } from '../local/swarm-pull.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';
import { GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { existsSync, openSync, readdirSync, statSync } from 'node:fs';
import { MAYFLY_BIN } from '../local/agent-process.ts';
import { waitUntil } from './fixtures/wait-until.ts';

const KiB = 1024;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The entry points (the `mayfly` CLI, the local API) as users of `aws s3 cp`, curl and boto3 expect them, against a real agent. */
describe('entry points', () => {
  let stack: LocalStack;
  let agent: AgentProcess;
  let outDir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    stack = await LocalStack.start();
    agent = await stack.startAgent('entry-agent');
    outDir = await mkdtemp(join(tmpdir(), 'mayfly-entry-'));
    env = { PATH: process.env.PATH, MAYFLY_API: agent.apiUrl };
  });
  afterAll(async () => stack?.stop());

  it('reads the key of an s3:// URL literally: %20, #, ? and spaces are part of the key', async () => {
    const keys = ['keys/literal%20pct.bin', 'keys/literal pct.bin', 'keys/hash#part.bin', 'keys/ask?versionId=1.bin', 'keys/100%.bin'];
    const artifacts = await Promise.all(keys.map((key, i) => stack.putArtifact(key, 200 * KiB + i, `literal-${i}`)));
    for (const artifact of artifacts) {
      const output = join(outDir, `literal-${artifacts.indexOf(artifact)}.bin`);
      const result = await runMayfly(['get', artifact.url, '-o', output], env);
      expect(result.stderr, artifact.key).not.toMatch(/Error|error/);
      expect(result.code, artifact.key).toBe(0);
      expect(await sha256File(output), artifact.key).toBe(artifact.sha256);
    }
    // The local API reads its url parameter the same way.
    const [pct] = artifacts;
    const answer = await fetch(`${agent.apiUrl}/v1/objects?url=${encodeURIComponent(pct.url)}`);
    expect(answer.status).toBe(200);
    expect(Buffer.from(await answer.arrayBuffer()).length).toBe(pct.size);
    const { tasks } = (await (await fetch(`${agent.apiUrl}/v1/tasks`)).json()) as { tasks: { url: string }[] };
    expect(tasks.map((task) => task.url)).toContain(`s3://${stack.bucket}/keys/literal%2520pct.bin`);
    // A preheat names its key the same way.
    const preheat = await fetch(`${stack.manager.url}/v1/preheats`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: pct.url, sites: ['az-1'] }),
    });
    expect(preheat.status).toBe(201);
    const { jobs } = (await preheat.json()) as { jobs: { url: string }[] };
    expect(jobs.map((job) => job.url)).toEqual([`s3://${stack.bucket}/keys/literal%2520pct.bin`]);
  });

  it('handles a zero-byte object in every interface: CLI with the empty digest, local API, S3 GET/HEAD/Range', async () => {
    const empty = await stack.putArtifact('zero/empty.bin', 0);
    const output = join(outDir, 'empty.bin');
    const first = await runMayfly(['get', empty.url, '-o', output, '--digest', `sha256:${EMPTY_SHA256}`], env);
    expect(first.code, first.stderr).toBe(0);
    expect(statSync(output).size).toBe(0);
    expect(first.stderr).not.toContain('(cache)');
    const again = await runMayfly(['get', empty.url, '-o', '-', '--digest', `sha256:${EMPTY_SHA256}`], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.length).toBe(0);
    const api = await fetch(`${agent.apiUrl}/v1/objects?url=${encodeURIComponent(empty.url)}`);
    expect(api.status).toBe(200);
    expect((await api.arrayBuffer()).byteLength).toBe(0);

    const s3 = new S3Client({ endpoint: agent.s3Url, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: empty.key }));
      expect(head.ContentLength).toBe(0);
      const get = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: empty.key }));
      expect((await get.Body!.transformToByteArray()).length).toBe(0);
      // As S3: no byte of an empty object can be selected.
      const ranged = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: empty.key, Range: 'bytes=0-0' })).catch((error: S3ServiceException) => error);
      expect((ranged as S3ServiceException).$metadata?.httpStatusCode).toBe(416);
    } finally {
      s3.destroy();
    }
    expect(existsSync(join(outDir, 'missing'))).toBe(false);
  });

  it('versionId=null names the same task as the plain key: no second read of S3 (real AWS SDK)', async () => {
    const object = await stack.putArtifact('versions/plain.bin', 300 * KiB, 'versions');
    const s3 = new S3Client({ endpoint: agent.s3Url, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    try {
      const plain = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: object.key }));
      expect((await plain.Body!.transformToByteArray()).length).toBe(object.size);
      const readBefore = stack.origin.bytesOut();
      const pinned = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: object.key, VersionId: 'null' }));
      expect((await pinned.Body!.transformToByteArray()).length).toBe(object.size);
      expect(stack.origin.bytesOut()).toBe(readBefore);
      const { tasks } = (await (await fetch(`${agent.apiUrl}/v1/tasks`)).json()) as { tasks: { url: string }[] };
      expect(tasks.filter((task) => task.url.includes('versions/plain.bin')).map((task) => task.url)).toEqual([`s3://${stack.bucket}/versions/plain.bin`]);
    } finally {
      s3.destroy();
    }
  });

  it('-o is optional: the base name in the current folder, or inside -o DIR/ or an existing folder; a folder key is refused with a hint', async () => {
    const object = await stack.putArtifact('names/tool-1.2.tar', 150 * KiB, 'names');
    const here = await mkdtemp(join(tmpdir(), 'mayfly-cwd-'));
    const bare = await runMayfly(['get', object.url, '-q'], env, undefined, here);
    expect(bare.code, bare.stderr).toBe(0);
    expect(await sha256File(join(here, 'tool-1.2.tar'))).toBe(object.sha256);
    const inside = await mkdtemp(join(tmpdir(), 'mayfly-dir-'));
    const existing = await runMayfly(['get', object.url, '-o', inside, '-q'], env);
    expect(existing.code, existing.stderr).toBe(0);
    expect(await sha256File(join(inside, 'tool-1.2.tar'))).toBe(object.sha256);
    const slash = await runMayfly(['get', object.url, '-o', `${here}/`, '-q'], env);
    expect(slash.code, slash.stderr).toBe(0);
    // A folder that does not exist is refused before a byte moves.
    const readBefore = stack.origin.bytesOut();
    const missing = await runMayfly(['get', object.url, '-o', join(here, 'nope') + '/'], env);
    expect(missing.code).toBe(7);
    expect(missing.stderr).toMatch(/does not exist/);
    const folder = await runMayfly(['get', `s3://${stack.bucket}/names/`], env, undefined, here);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toMatch(/-r/);
    expect(stack.origin.bytesOut()).toBe(readBefore);
  });

  it('progress moves by bytes within a piece, and -q prints nothing but errors', async () => {
    const object = await stack.putArtifact('progress/slow.bin', 24 * 1024 * KiB, 'progress');
    const slow = await stack.startAgent('slow-agent', { MAYFLY_DOWNLOAD_LIMIT: '8MiB' });
    const response = await fetch(`${slow.apiUrl}/v1/pulls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
      body: JSON.stringify({ url: object.url }),
    });
    const lines = (await response.text()).trim().split('\n').map((line) => JSON.parse(line) as { type: string; receivingBytes?: number; completedBytes?: number });
    expect(lines.at(-1)?.type).toBe('result');
    // Between verified pieces the agent reports the bytes of pieces still arriving.
    expect(lines.some((line) => line.type === 'progress' && (line.receivingBytes ?? 0) > 0)).toBe(true);

    const quiet = await runMayfly(['get', object.url, '-o', join(outDir, 'quiet.bin'), '-q'], { ...env, MAYFLY_API: slow.apiUrl });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    const failing = await runMayfly(['get', `s3://${stack.bucket}/progress/missing.bin`, '-o', join(outDir, 'missing.bin'), '-q'], env);
    expect(failing.code).toBe(3);
    expect(failing.stderr).toMatch(/no such object/);
  });

  it('names the URL once in errors; a full disk under stdout is the user\'s disk (exit 7); an agent that dies mid-stream is exit 6', async () => {
    const missingUrl = `s3://${stack.bucket}/errors/missing.bin`;
    const missing = await runMayfly(['get', missingUrl, '-o', '-'], env);
    expect(missing.code).toBe(3);
    expect(missing.stderr.split(missingUrl).length - 1, missing.stderr).toBe(1);

    const object = await stack.putArtifact('errors/object.bin', 2 * 1024 * KiB, 'errors');
    const full = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [MAYFLY_BIN, 'get', object.url, '-o', '-'], { env, stdio: ['ignore', openSync('/dev/full', 'w'), 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (chunk) => (stderr += chunk));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(full.code, full.stderr).toBe(7);
    expect(full.stderr).toMatch(/cannot write stdout: disk full/);

    const big = await stack.putArtifact('errors/big.bin', 40 * 1024 * KiB, 'errors-big');
    const dying = await stack.startAgent('dying-agent', { MAYFLY_DOWNLOAD_LIMIT: '4MiB' });
    const folder = await mkdtemp(join(tmpdir(), 'mayfly-dying-'));
    const output = join(folder, 'big.bin');
    const pull = runMayfly(['get', big.url, '-o', output], { ...env, MAYFLY_API: dying.apiUrl });
    await waitUntil(async () => {
      const { tasks } = (await (await fetch(`${dying.apiUrl}/v1/tasks`)).json()) as { tasks: { completedBytes: number }[] };
      return tasks.some((task) => task.completedBytes > 0);
    }, 60_000);
    await dying.stop('SIGKILL');
    const died = await pull;
    expect(died.code, died.stderr).toBe(6);
    expect(readdirSync(folder)).toEqual([]);
  });

  it('an S3-endpoint GetObject counts as a pull: pulls_started_total, active tasks and the console\'s pulls column', async () => {
    const object = await stack.putArtifact('counted/object.bin', 16 * 1024 * KiB, 'counted');
    const metric = async (name: string): Promise<number> => {
      const text = await (await fetch(`${agent.apiUrl}/metrics`)).text();
      const line = text.split('\n').find((entry) => entry.startsWith(`${name}{`) || entry.startsWith(`${name} `));
      return Number(line?.split(' ').at(-1) ?? NaN);
    };
    const hostActive = async (): Promise<number> => {
      const answer = await fetch(`${stack.manager.url}/v1/hosts`, { headers: { authorization: `Bearer ${stack.token}` } });
      const { hosts } = (await answer.json()) as { hosts: { peerId: string; activeTasks: number }[] };
      return hosts.find((host) => host.peerId === 'entry-agent')?.activeTasks ?? 0;
    };
    const started = await metric('mayfly_agent_pulls_started_total');
    const s3 = new S3Client({ endpoint: agent.s3Url, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    try {
      // The body is not read yet: the read is running, held by back-pressure.
      const get = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: object.key }));
      await waitUntil(async () => (await metric('mayfly_agent_active_tasks')) === 1, 30_000);
      expect(await metric('mayfly_agent_pulls_started_total')).toBe(started + 1);
      await waitUntil(async () => (await hostActive()) === 1, 30_000);
      expect((await get.Body!.transformToByteArray()).length).toBe(object.size);
      await waitUntil(async () => (await metric('mayfly_agent_active_tasks')) === 0, 30_000);
      // A HeadObject only looks.
      await s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: object.key }));
      expect(await metric('mayfly_agent_pulls_started_total')).toBe(started + 1);
    } finally {
      s3.destroy();
    }
  });
});

