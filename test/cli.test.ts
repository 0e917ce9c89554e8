import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import type { Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';
import { sha256File } from '../local/swarm-pull.ts';

async function mayfly(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const result = await runMayfly(args, env);
  return { ...result, stdout: result.stdout.toString() };
}

/** `mayfly get` against a real agent process. */
describe('mayfly CLI', () => {
  let stack: LocalStack;
  let agent: AgentProcess;
  let artifact: Artifact;
  let outDir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    stack = await LocalStack.start();
    artifact = await stack.putArtifact('cli/tool.tar', 5 * 1024 * 1024 + 17);
    agent = await stack.startAgent('cli-agent');
    outDir = await mkdtemp(join(tmpdir(), 'mayfly-cli-'));
    env = { PATH: process.env.PATH, MAYFLY_API: agent.apiUrl };
  });
  afterAll(async () => stack?.stop());

  it('pulls an object to a file and says where the bytes came from', async () => {
    const output = join(outDir, 'tool.tar');
    const result = await mayfly(['get', artifact.url, '-o', output, '--digest', `sha256:${artifact.sha256}`], env);
    expect(result.stderr).toMatch(/from peers, .* from S3/);
    expect(result.code).toBe(0);
    expect(await sha256File(output)).toBe(artifact.sha256);
  });

  it('fails with a clear message, exit 3 and no file for a missing key', async () => {
    const output = join(outDir, 'missing.bin');
    const result = await mayfly(['get', `s3://${stack.bucket}/does/not/exist.bin`, '-o', output], env);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('does/not/exist.bin');
    expect(result.stderr).toMatch(/no such object/);
    expect(existsSync(output)).toBe(false);
  });

  it('treats a malformed URL as a usage error', async () => {
    const output = join(outDir, 'bad.bin');
    const result = await mayfly(['get', 'ftp://not-s3/x', '-o', output], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not an S3 or HTTP\(S\) URL/);
    expect(existsSync(output)).toBe(false);
  });

  it('refuses a wrong --digest and leaves nothing behind', async () => {
    const output = join(outDir, 'wrong-digest.bin');
    const result = await mayfly(['get', artifact.url, '-o', output, '--digest', `sha256:${'0'.repeat(64)}`], env);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/does not match/);
    expect(existsSync(output)).toBe(false);
    expect(readdirSync(outDir).filter((name) => name.includes('.mayfly-'))).toEqual([]);
  });

  it('reports usage errors for missing options and unknown flags', async () => {
    expect((await mayfly(['get', `s3://${stack.bucket}/cli/`], env)).code).toBe(2);
    expect((await mayfly(['get', artifact.url, '-o', join(outDir, 'x'), '--bogus'], env)).code).toBe(2);
    expect((await mayfly(['get', artifact.url, '-o', join(outDir, 'x'), '--digest', 'md5:abc'], env)).code).toBe(2);
    expect((await mayfly(['frobnicate'], env)).code).toBe(2);
  });

  it('says so when no agent is running', async () => {
    const result = await mayfly(['get', artifact.url, '-o', join(outDir, 'y')], { PATH: process.env.PATH, MAYFLY_API: 'http://127.0.0.1:1' });
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(/no agent answering/);
  });

  it('prints its version, and the agent reports it with its heartbeats', async () => {
    const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const result = await mayfly([flag], env);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`mayfly ${version}\n`);
    }
    const host = await waitFor(async () => {
      const response = await fetch(`${stack.manager.url}/v1/hosts`, { headers: { authorization: `Bearer ${stack.token}` } });
      const { hosts } = (await response.json()) as { hosts: Array<{ peerId: string; version?: string }> };
      return hosts.find((entry) => entry.peerId === 'cli-agent' && entry.version);
    });
    expect(host.version).toBe(version);
  });

  it('prints help for every command', async () => {
    for (const args of [['--help'], ['get', '--help'], ['agent', '--help']]) {
      const result = await mayfly(args, env);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Usage: mayfly/);
    }
  });
});

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
