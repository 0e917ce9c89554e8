import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, open, readFile, truncate, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAYFLY_BIN, type AgentProcess } from '../local/agent-process.ts';
import type { Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';
import { LOCAL_S3_CREDENTIALS } from '../local/s3-server.ts';
import { sha256File } from '../local/swarm-pull.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';

const MiB = 1024 * 1024;
/** The unprivileged user the CLI runs as here (the tests run as root, the agent too). */
const NOBODY = 65534;

interface RawAnswer {
  readonly status: number;
  readonly body: string;
}

/** A request with exactly these headers (fetch will not send a foreign Host). */
function raw(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { ...headers, ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function sha256(buffer: Buffer): string {
  return createHash('sha256').update(buffer).digest('hex');
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `mayfly get` as its own process, as user `uid` (setpriv), so tests can signal it mid-pull. */
function startGet(args: readonly string[], api: string, uid?: number) {
  const command = uid === undefined ? [process.execPath, MAYFLY_BIN] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, MAYFLY_BIN];
  const child = spawn(command[0], [...command.slice(1), 'get', ...args], {
    env: { PATH: process.env.PATH, HOME: tmpdir(), MAYFLY_API: api, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exited };
}

/** Issue 14: the agent as a daemon on a shared host, tried as a web page, a local user and a faulty disk would. */
describe('host trust', () => {
  let stack: LocalStack;
  let agent: AgentProcess;
  let artifact: Artifact;
  let dir: string;
  const logs = new Map<string, string[]>();

  beforeAll(async () => {
    // Default scheduler settings: originRecheckMs is not 0 here.
    stack = await LocalStack.start({ onAgentLog: (name, line) => logs.set(name, [...(logs.get(name) ?? []), line]) });
    artifact = await stack.putArtifact('host/object.bin', 9 * MiB + 3, 'host');
    agent = await stack.startAgent('host-agent');
    dir = await mkdtemp(join(tmpdir(), 'mayfly-host-'));
    await chmod(dir, 0o755);
  });
  afterAll(async () => stack?.stop());

  it('case 1: refuses what a web page sends (cross-site simple POST, DNS rebinding) and still serves the CLI and the SDK', async () => {
    const victim = join(dir, 'authorized_keys');
    await writeFile(victim, 'ssh-ed25519 AAAA user@host\n');
    // Exactly what a browser sends for fetch(…, {method: 'POST', body}) from a page: no preflight.
    const browser = await raw(agent.apiPort, 'POST', '/v1/pulls', {
      host: `127.0.0.1:${agent.apiPort}`,
      origin: 'http://evil.example',
      'content-type': 'text/plain;application/json',
    }, JSON.stringify({ url: artifact.url, output: victim }));
    expect([403, 415]).toContain(browser.status);
    // Without Origin (a page on a rebinding name omits none, but test the type check alone too).
    const textPlain = await raw(agent.apiPort, 'POST', '/v1/pulls', { host: `127.0.0.1:${agent.apiPort}`, 'content-type': 'text/plain;application/json' }, JSON.stringify({ url: artifact.url, output: victim }));
    expect(textPlain.status).toBe(415);
    // DNS rebinding: the page's own name, now pointing at 127.0.0.1.
    expect((await raw(agent.apiPort, 'GET', '/v1/tasks', { host: `evil.example:${agent.apiPort}` })).status).toBe(403);
    const s3Rebound = await raw(agent.s3Port, 'GET', `/${stack.bucket}/host/object.bin`, { host: `evil.example:${agent.s3Port}` });
    expect(s3Rebound.status).toBe(403);
    expect(s3Rebound.body).toContain('<Code>AccessDenied</Code>');
    expect((await raw(agent.s3Port, 'GET', `/${stack.bucket}/host/object.bin`, { host: `localhost:${agent.s3Port}`, origin: 'http://evil.example' })).status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await readFile(victim, 'utf8')).toBe('ssh-ed25519 AAAA user@host\n');

    // Programs on the host still work: names of loopback, the CLI, the AWS SDK.
    expect((await raw(agent.apiPort, 'GET', '/v1/health', { host: `localhost:${agent.apiPort}` })).status).toBe(200);
    expect((await raw(agent.apiPort, 'GET', '/v1/health', { host: `[::1]:${agent.apiPort}`, origin: `http://localhost:${agent.apiPort}` })).status).toBe(200);
    const output = join(dir, 'case1.bin');
    const cli = await runMayfly(['get', artifact.url, '-o', output], { PATH: process.env.PATH, MAYFLY_API: agent.apiUrl });
    expect(cli.code).toBe(0);
    expect(await sha256File(output)).toBe(artifact.sha256);
    const s3 = new S3Client({ endpoint: agent.s3Url, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS });
    const object = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: 'host/object.bin' }));
    expect(sha256(Buffer.from(await object.Body!.transformToByteArray()))).toBe(artifact.sha256);
    s3.destroy();
  });

  it('case 2: the output is written by the caller, as the caller; a folder the caller cannot write fails with exit 7', async () => {
    const home = join(dir, 'nobody-home');
    await mkdir(home);
    await chown(home, NOBODY, NOBODY);
    const output = join(home, 'object.bin');
    const mine = await startGet([artifact.url, '-o', output], agent.apiUrl, NOBODY).exited;
    expect(mine.code, mine.stderr).toBe(0);
    expect(statSync(output).uid).toBe(NOBODY);
    expect(await sha256File(output)).toBe(artifact.sha256);

    // A root-only folder: the agent (root here) must not write it on the caller's behalf.
    const rootOnly = join(dir, 'root-only');
    await mkdir(rootOnly, { mode: 0o700 });
    const denied = await startGet([artifact.url, '-o', join(rootOnly, 'object.bin')], agent.apiUrl, NOBODY).exited;
    expect(denied.code).toBe(7);
    expect(denied.stderr).toMatch(/cannot write .*permission denied/);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(readdirSync(rootOnly)).toEqual([]);
  });

  it('case 2: Ctrl-C cancels the pull: no file, no temp file, and the agent stops downloading', async () => {
    const slowAgent = await stack.startAgent('slow-agent', { MAYFLY_DOWNLOAD_LIMIT: '4MiB' });
    const big = await stack.putArtifact('host/big.bin', 40 * MiB, 'big');
    const folder = join(dir, 'cancel');
    await mkdir(folder);
    const output = join(folder, 'big.bin');
    const get = startGet([big.url, '-o', output], slowAgent.apiUrl);
    const completed = async () => {
      const { tasks } = (await (await fetch(`${slowAgent.apiUrl}/v1/tasks`)).json()) as { tasks: Array<{ url: string; completedBytes: number }> };
      return tasks.find((task) => task.url === big.url)?.completedBytes ?? 0;
    };
    await waitFor('the first pieces', async () => (await completed()) >= 4 * MiB);
    get.child.kill('SIGINT');
    const result = await get.exited;
    expect(result.code).toBe(130);
    expect(readdirSync(folder)).toEqual([]);
    // Generous: under a loaded CI machine the agent may take seconds to see both sockets close.
    const cancelled = () => (logs.get('slow-agent') ?? []).some((line) => line.includes('download cancelled'));
    await waitFor('the cancel in the agent log', cancelled, 20_000).catch((error: Error) => {
      throw new Error(`${error.message}; the agent's last lines:\n${(logs.get('slow-agent') ?? []).slice(-15).join('\n')}`);
    });
    const stoppedAt = await completed();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(stoppedAt).toBeLessThan(big.size);
    // In flight at the cancel: at most a few pieces more land.
    expect((await completed()) - stoppedAt).toBeLessThanOrEqual(4 * 4 * MiB);
    expect(existsSync(output)).toBe(false);
  });

  it('case 3: a flipped byte or a truncated data file is repaired: mayfly get and the S3 endpoint return exactly the object', async () => {
    const name = 'disk-agent';
    let disk = await stack.startAgent(name);
    const object = await stack.putArtifact('host/disk.bin', 13 * MiB + 5, 'disk');
    const first = await runMayfly(['get', object.url, '-o', join(dir, 'disk-1.bin')], { PATH: process.env.PATH, MAYFLY_API: disk.apiUrl });
    expect(first.code).toBe(0);
    const tasksDir = join(stack.root, 'agents', name, 'tasks');
    const [taskDir] = readdirSync(tasksDir);
    const data = join(tasksDir, taskDir, 'data');

    for (const damage of ['flip', 'truncate'] as const) {
      await disk.stop();
      if (damage === 'flip') {
        const handle = await open(data, 'r+');
        const byte = Buffer.alloc(1);
        await handle.read(byte, 0, 1, 5 * MiB + 123);
        byte[0] ^= 0xff;
        await handle.write(byte, 0, 1, 5 * MiB + 123);
        await handle.close();
      } else {
        await truncate(data, 1 * MiB);
      }
      logs.set(name, []);
      stack.agents.splice(stack.agents.indexOf(disk), 1);
      disk = await stack.startAgent(name);
      const output = join(dir, `disk-${damage}.bin`);
      const result = await runMayfly(['get', object.url, '-o', output], { PATH: process.env.PATH, MAYFLY_API: disk.apiUrl });
      expect(result.code, result.stderr).toBe(0);
      expect(await sha256File(output)).toBe(object.sha256);
      const s3 = new S3Client({ endpoint: disk.s3Url, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS });
      const answer = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: 'host/disk.bin' }));
      expect(sha256(Buffer.from(await answer.Body!.transformToByteArray()))).toBe(object.sha256);
      s3.destroy();
      expect((logs.get(name) ?? []).some((line) => line.includes('cache repair')), `${damage}: the repair is logged`).toBe(true);
    }
  });

  it('case 4: a pull right after an overwrite gets the new version, with the default originRecheckMs', async () => {
    const v1 = await stack.putArtifact('host/changing.bin', 5 * MiB, 'version-1');
    const first = join(dir, 'v1.bin');
    expect((await runMayfly(['get', v1.url, '-o', first], { PATH: process.env.PATH, MAYFLY_API: agent.apiUrl })).code).toBe(0);
    expect(await sha256File(first)).toBe(v1.sha256);
    const v2 = await stack.putArtifact('host/changing.bin', 5 * MiB, 'version-2');
    const second = join(dir, 'v2.bin');
    const result = await runMayfly(['get', v2.url, '-o', second], { PATH: process.env.PATH, MAYFLY_API: agent.apiUrl });
    expect(result.code, result.stderr).toBe(0);
    expect(await sha256File(second)).toBe(v2.sha256);
    const s3 = new S3Client({ endpoint: agent.s3Url, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS });
    const answer = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: 'host/changing.bin' }));
    expect(sha256(Buffer.from(await answer.Body!.transformToByteArray()))).toBe(v2.sha256);
    s3.destroy();
  });

  it('case 4: an overwrite during a pull restarts it on the new version; the S3 endpoint answers whole or with an S3 error', async () => {
    const slow = await stack.startAgent('overwrite-agent', { MAYFLY_DOWNLOAD_LIMIT: '6MiB' });
    const v1 = await stack.putArtifact('host/overwritten.bin', 32 * MiB, 'old');
    const folder = join(dir, 'overwrite');
    await mkdir(folder);
    const output = join(folder, 'object.bin');
    const get = startGet([v1.url, '-o', output], slow.apiUrl);
    // Overwrite once a piece is in: later pieces (beyond the reads in flight) meet the new ETag.
    await waitFor('the first piece', async () => {
      const { tasks } = (await (await fetch(`${slow.apiUrl}/v1/tasks`)).json()) as { tasks: Array<{ url: string; completedBytes: number }> };
      return (tasks.find((task) => task.url === v1.url)?.completedBytes ?? 0) >= 4 * MiB;
    });
    const v2 = await stack.putArtifact('host/overwritten.bin', 32 * MiB, 'new');
    // An S3 client asking meanwhile: a whole, correct answer or a proper S3 error, never a cut.
    const s3 = new S3Client({ endpoint: slow.s3Url, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS, maxAttempts: 1 });
    const viaS3 = s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: 'host/overwritten.bin' })).then(
      async (answer) => ({ sha: sha256(Buffer.from(await answer.Body!.transformToByteArray())), error: undefined }),
      (error: { name?: string; $metadata?: { httpStatusCode?: number } }) => ({ sha: undefined, error }),
    );
    const result = await get.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(await sha256File(output), (logs.get('overwrite-agent') ?? []).join('\n')).toBe(v2.sha256);
    expect(readdirSync(folder)).toEqual(['object.bin']);
    const s3Answer = await viaS3;
    if (s3Answer.error) expect([404, 503]).toContain(s3Answer.error.$metadata?.httpStatusCode);
    else expect(s3Answer.sha).toBe(v2.sha256);
    s3.destroy();
  });

  it('case 5: a SIGKILLed get leaves a temp file the next get into that folder removes; the agent cleans its own at start', async () => {
    const slowAgent = await stack.startAgent('leftover-agent', { MAYFLY_DOWNLOAD_LIMIT: '4MiB' });
    const big = await stack.putArtifact('host/leftover.bin', 24 * MiB, 'leftover');
    const folder = join(dir, 'leftover');
    await mkdir(folder);
    const get = startGet([big.url, '-o', join(folder, 'big.bin')], slowAgent.apiUrl);
    await waitFor('the temp file', () => readdirSync(folder).some((entry) => entry.includes('.mayfly-')));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    get.child.kill('SIGKILL');
    await get.exited;
    const next = await runMayfly(['get', artifact.url, '-o', join(folder, 'small.bin')], { PATH: process.env.PATH, MAYFLY_API: slowAgent.apiUrl });
    expect(next.code).toBe(0);
    expect(readdirSync(folder).sort()).toEqual(['small.bin']);

    // The agent's own temp files (a state file being rewritten at a crash) go at its next start.
    const tasksDir = join(stack.root, 'agents', 'leftover-agent', 'tasks');
    const [taskDir] = readdirSync(tasksDir);
    const stale = join(tasksDir, taskDir, 'state.json.4242.tmp');
    await slowAgent.stop('SIGKILL');
    await writeFile(stale, '{"partial":');
    stack.agents.splice(stack.agents.indexOf(slowAgent), 1);
    await stack.startAgent('leftover-agent', { MAYFLY_DOWNLOAD_LIMIT: '4MiB' });
    expect(existsSync(stale)).toBe(false);
  });
});
