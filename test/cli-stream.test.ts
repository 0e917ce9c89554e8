import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import { artifactBytes, type Artifact } from '../local/artifact.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';
import { LocalStack } from '../local/local-stack.ts';

const mayfly = runMayfly;


const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** `mayfly get -o -`, `--range`, the local API's Range support and `mayfly stat`, against real agent processes. */
describe('mayfly get -o - / --range, and mayfly stat', () => {
  let stack: LocalStack;
  let first: AgentProcess;
  let second: AgentProcess;
  let artifact: Artifact;
  let untouched: Artifact;
  let outDir: string;
  let env: (agent: AgentProcess) => NodeJS.ProcessEnv;

  beforeAll(async () => {
    stack = await LocalStack.start();
    [artifact, untouched] = await Promise.all([
      stack.putArtifact('stream/layer.tar', 9 * 1024 * 1024 + 123),
      stack.putArtifact('stream/untouched.bin', 1024 * 1024),
    ]);
    [first, second] = await Promise.all([stack.startAgent('cli-a'), stack.startAgent('cli-b')]);
    outDir = await mkdtemp(join(tmpdir(), 'mayfly-cli-stream-'));
    env = (agent) => ({ PATH: process.env.PATH, MAYFLY_API: agent.apiUrl });
  });
  afterAll(async () => stack?.stop());

  it('-o - writes exactly the object to stdout and nothing to stderr in a pipe', async () => {
    const result = await mayfly(['get', artifact.url, '-o', '-', '--digest', `sha256:${artifact.sha256}`], env(first));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBe(artifact.size);
    expect(sha256(result.stdout)).toBe(artifact.sha256);
  });

  it('-o - with a wrong --digest exits 5 and says why', async () => {
    const result = await mayfly(['get', artifact.url, '-o', '-', '--digest', `sha256:${'0'.repeat(64)}`], env(first));
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/does not match/);
  });

  it('--range with -o - streams exactly those bytes', async () => {
    const [result, tail] = await Promise.all([
      mayfly(['get', artifact.url, '--range', '100-199', '-o', '-'], env(second)),
      mayfly(['get', artifact.url, '--range', '-10', '-o', '-'], env(second)),
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.equals(await artifactBytes(artifact, 100, 200))).toBe(true);
    expect(tail.stdout.equals(await artifactBytes(artifact, artifact.size - 10, artifact.size))).toBe(true);
  });

  it('--range with -o FILE writes just those bytes, atomically', async () => {
    const output = join(outDir, 'slice.bin');
    const start = 4 * 1024 * 1024 - 1000; // across a piece boundary
    const result = await mayfly(['get', artifact.url, '--range', `${start}-${start + 1999}`, '-o', output], env(second));
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`bytes ${start}-${start + 1999} of 9.0 MiB`);
    expect((await readFile(output)).equals(await artifactBytes(artifact, start, start + 2000))).toBe(true);
    expect(readdirSync(outDir).filter((name) => name.includes('.mayfly-'))).toEqual([]);
  });

  it('rejects bad ranges as usage errors and leaves no file', async () => {
    const output = join(outDir, 'nothing.bin');
    const [beyond, backwards, garbage, withDigest] = await Promise.all([
      mayfly(['get', artifact.url, '--range', `${artifact.size}-`, '-o', output], env(first)),
      mayfly(['get', artifact.url, '--range', '5-3', '-o', output], env(first)),
      mayfly(['get', artifact.url, '--range', 'abc', '-o', '-'], env(first)),
      mayfly(['get', artifact.url, '--range', '0-9', '--digest', `sha256:${artifact.sha256}`, '-o', '-'], env(first)),
    ]);
    expect(beyond.code).toBe(2);
    expect(beyond.stderr).toMatch(/not satisfiable/);
    expect([backwards.code, garbage.code, withDigest.code]).toEqual([2, 2, 2]);
    expect(existsSync(output)).toBe(false);
    expect(readdirSync(outDir).filter((name) => name.includes('.mayfly-'))).toEqual([]);
  });

  it('-o - for a missing key exits 3 with an empty stdout', async () => {
    const result = await mayfly(['get', `s3://${stack.bucket}/no/such.bin`, '-o', '-'], env(first));
    expect(result.code).toBe(3);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr).toContain('no/such.bin');
  });

  it('-o - ends quietly when the reader hangs up (| head)', async () => {
    const result = await mayfly(['get', artifact.url, '-o', '-'], env(first), 1);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('the local API honours Range on GET /v1/objects (206, Content-Range, 416)', async () => {
    const query = `${first.apiUrl}/v1/objects?url=${encodeURIComponent(artifact.url)}`;
    const partial = await fetch(query, { headers: { range: 'bytes=10-19' } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe(`bytes 10-19/${artifact.size}`);
    expect(Buffer.from(await partial.arrayBuffer()).equals(await artifactBytes(artifact, 10, 20))).toBe(true);
    const whole = await fetch(query);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(sha256(Buffer.from(await whole.arrayBuffer()))).toBe(artifact.sha256);
    const unsatisfiable = await fetch(query, { headers: { range: `bytes=${artifact.size + 5}-` } });
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers.get('content-range')).toBe(`bytes */${artifact.size}`);
    expect(((await unsatisfiable.json()) as { error: string }).error).toBe('InvalidRange');
  });

  it('stat shows the swarm: peers, progress, bytes from S3 and from peers', async () => {
    // Both agents hold the whole object by now (first streamed it; second pulls the rest).
    expect((await mayfly(['get', artifact.url, '-o', join(outDir, 'whole.bin')], env(second))).code).toBe(0);
    // A finished agent's last announce lands a moment after its pull returns.
    for (let waited = 0; waited < 10_000; waited += 200) {
      const swarm = (await (await fetch(`${second.apiUrl}/v1/stat?url=${encodeURIComponent(artifact.url)}`)).json()) as { peers: { finished: boolean }[] };
      if (swarm.peers.length === 2 && swarm.peers.every((peer) => peer.finished)) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const json = await mayfly(['stat', artifact.url, '--json'], env(second));
    expect(json.code).toBe(0);
    const answer = JSON.parse(json.stdout.toString()) as {
      task: { size: number };
      peers: { peerId: string; completed: number; bytesFromOrigin: number; bytesFromPeers: number; finished: boolean }[];
      local: { complete: boolean };
    };
    expect(answer.task.size).toBe(artifact.size);
    expect(answer.local.complete, JSON.stringify(answer)).toBe(true);
    expect(answer.peers.map((peer) => peer.peerId).sort()).toEqual(['cli-a', 'cli-b']);
    expect(answer.peers.every((peer) => peer.finished), JSON.stringify(answer.peers)).toBe(true);
    // The bytes are accounted for: S3 gave the object (about once; test/swarm.test.ts holds that
    // line), and the other agent got its share from its peer.
    expect(answer.peers.reduce((sum, peer) => sum + peer.bytesFromOrigin, 0)).toBeGreaterThanOrEqual(artifact.size);
    expect(answer.peers.reduce((sum, peer) => sum + peer.bytesFromPeers, 0)).toBeGreaterThan(0);

    const table = await mayfly(['stat', artifact.url], env(first));
    expect(table.code).toBe(0);
    const text = table.stdout.toString();
    expect(text).toMatch(/PEER\s+SITE\s+ROLE\s+PROGRESS\s+FROM PEERS\s+FROM S3/);
    expect(text).toMatch(/cli-a\s+default\s+normal\s+100%/);
    expect(text).toMatch(/cli-b\s+default\s+normal\s+100%/);
    expect(text).toMatch(/2 peers, 2 finished; S3 served [\d.]+ MiB \([\d.]+ × the object\), peers served [\d.]+ MiB/);
  });

  it('stat does not join the swarm, and reports a missing key as exit 3', async () => {
    const [missing, usage] = await Promise.all([mayfly(['stat', `s3://${stack.bucket}/no/such.bin`], env(first)), mayfly(['stat'], env(first))]);
    expect(missing.code).toBe(3);
    expect(usage.code).toBe(2);
    // Asked twice: the first ask made no one a peer.
    for (let i = 0; i < 2; i++) {
      const result = await mayfly(['stat', untouched.url], env(first));
      expect(result.code).toBe(0);
      expect(result.stdout.toString()).toMatch(/no peers/);
      expect(result.stdout.toString()).toMatch(/not cached on this host/);
    }
  });

  it('prints help for stat and documents the new get options', async () => {
    const [stat, get, top] = await Promise.all([mayfly(['stat', '--help'], env(first)), mayfly(['get', '--help'], env(first)), mayfly(['--help'], env(first))]);
    expect(stat.code).toBe(0);
    expect(stat.stdout.toString()).toMatch(/Usage: mayfly stat/);
    expect(get.stdout.toString()).toMatch(/--range START-END/);
    expect(get.stdout.toString()).toMatch(/-o, --output FILE\|DIR\/\|-/);
    expect(top.stdout.toString()).toMatch(/stat\s+show an object's swarm/);
  });
});
