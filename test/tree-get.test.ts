import { randomBytes } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import type { Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';
import { sha256File } from '../local/swarm-pull.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';

const MiB = 1024 * 1024;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(dir, join(entry.parentPath, entry.name))).sort();
}

/**
 * Issue 18, part 3: `mayfly get s3://bucket/prefix/ -r -o DIR` through real agents:
 * the listing comes from the control plane, every object is written atomically by the
 * CLI, a second run keeps what is complete, and keys that would land outside DIR or that
 * the filesystem cannot hold are refused before anything is written.
 */
describe('mayfly get -r', { timeout: 300_000 }, () => {
  let stack: LocalStack;
  let agents: AgentProcess[];
  let shards: Artifact[];
  const small = new Map<string, Buffer>();

  const get = (agent: AgentProcess, ...args: string[]) => runMayfly(['get', ...args], { PATH: process.env.PATH, MAYFLY_API: agent.apiUrl });
  const put = (key: string, body: Buffer | string) => stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body }));
  const treeBytes = () => shards.reduce((sum, shard) => sum + shard.size, 0) + [...small.values()].reduce((sum, body) => sum + body.length, 0);

  beforeAll(async () => {
    stack = await LocalStack.start({ schedulerSettings: { allowedOrigins: ['mayfly-demo/models/', 'mayfly-demo/evil/'] } });
    shards = await Promise.all([1, 2, 3].map((i) => stack.putArtifact(`models/m/shards/model-0000${i}-of-00003.safetensors`, 8 * MiB + i)));
    for (const key of ['config.json', 'tokenizer/tokenizer.json', 'tokenizer/special tokens.json', 'ünïcødé/日本語.txt', 'a/b/c/leaf.txt']) small.set(key, randomBytes(200 + key.length));
    await Promise.all([...small].map(([key, body]) => put(`models/m/${key}`, body)));
    await put('secret/x.txt', 'not for agents');
    agents = await Promise.all([1, 2, 3].map((i) => stack.startAgent(`tree-${i}`)));
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const expectTree = async (dir: string) => {
    const expected = [...small.keys(), ...shards.map((shard) => shard.key.slice('models/m/'.length))].sort();
    expect(await filesUnder(dir)).toEqual([...expected, '.mayfly-tree.json'].sort());
    for (const [key, body] of small) expect((await readFile(join(dir, key))).equals(body), key).toBe(true);
    for (const shard of shards) expect(await sha256File(join(dir, shard.key.slice('models/m/'.length)))).toBe(shard.sha256);
  };

  it('three agents pull a nested tree at once: every file verified, S3 serves each byte about once', async () => {
    const originBefore = stack.origin.bytesOut();
    const dirs = agents.map((agent) => join(stack.root, `tree-out-${agent.name}`));
    const results = await Promise.all(agents.map((agent, i) => get(agent, `s3://${stack.bucket}/models/m/`, '-r', '-o', dirs[i], '--json')));
    for (const [i, result] of results.entries()) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const summary = JSON.parse(result.stdout.toString()) as Record<string, number>;
      expect(summary).toMatchObject({ files: 8, pulled: 8, kept: 0, bytes: treeBytes() });
      await expectTree(dirs[i]);
    }
    const summaries = results.map((result) => JSON.parse(result.stdout.toString()) as { bytesFromPeers: number; bytesFromOrigin: number });
    const fromOrigin = summaries.reduce((sum, summary) => sum + summary.bytesFromOrigin, 0);
    const fromPeers = summaries.reduce((sum, summary) => sum + summary.bytesFromPeers, 0);
    const atS3 = stack.origin.bytesOut() - originBefore;
    console.log(`tree ${treeBytes()} B to 3 agents: S3 served ${atS3} B (${(atS3 / treeBytes()).toFixed(2)} × the tree), agents report ${fromOrigin} B from S3, ${fromPeers} B from peers`);
    // Every byte accounted for, and no agent read an object from S3 twice (counted at S3, not as agents report it).
    expect(fromOrigin + fromPeers).toBe(3 * treeBytes());
    expect(atS3).toBeLessThanOrEqual(3 * treeBytes() + 64 * 1024);
  });

  it('resumes: complete files with the listed ETag are kept; a changed object is pulled again', async () => {
    const dir = join(stack.root, 'tree-resume');
    // An earlier, partial run: only the shards.
    const partial = await get(agents[0], `s3://${stack.bucket}/models/m/`, '-r', '-o', dir, '--include', 'shards/*', '--json');
    expect(partial.code).toBe(0);
    expect(JSON.parse(partial.stdout.toString())).toMatchObject({ files: 3, pulled: 3 });
    const shardPath = join(dir, shards[0].key.slice('models/m/'.length));
    const before = (await stat(shardPath)).mtimeMs;
    const full = await get(agents[0], `s3://${stack.bucket}/models/m/`, '-r', '-o', dir, '--json');
    expect(full.code).toBe(0);
    expect(JSON.parse(full.stdout.toString())).toMatchObject({ files: 8, pulled: 5, kept: 3 });
    expect((await stat(shardPath)).mtimeMs).toBe(before);
    await expectTree(dir);
    // One object changes: only it moves.
    small.set('config.json', randomBytes(321));
    await put('models/m/config.json', small.get('config.json')!);
    const again = await get(agents[0], `s3://${stack.bucket}/models/m/`, '-r', '-o', dir, '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout.toString())).toMatchObject({ files: 8, pulled: 1, kept: 7 });
    await expectTree(dir);
  });

  it('--dry-run lists what it would pull and writes nothing; --exclude filters', async () => {
    const dir = join(stack.root, 'tree-dry');
    const result = await get(agents[1], `s3://${stack.bucket}/models/m`, '-r', '-o', dir, '--dry-run', '--exclude', 'shards/*,*.txt');
    expect(result.code).toBe(0);
    const lines = result.stdout.toString().trim().split('\n');
    expect(lines.map((line) => line.split(/\s{2,}/).at(-1))).toEqual(['config.json', 'tokenizer/special tokens.json', 'tokenizer/tokenizer.json']);
    expect(lines.every((line) => line.startsWith('pull'))).toBe(true);
    await expect(stat(dir)).rejects.toThrow();
  });

  it('refuses keys that would land outside DIR or that the filesystem cannot hold, writing nothing', async () => {
    // `..` and a leading `/` cannot be stored by the local S3 server; agent/cli/tree-plan.test.ts covers them.
    // A key that is a file and a folder at once is storable in S3 and holdable by no filesystem.
    await put('evil/a', 'a file');
    await put('evil/a/b', 'and a file in a folder of the same name');
    const dir = join(stack.root, 'tree-evil');
    const clash = await get(agents[1], `s3://${stack.bucket}/evil/`, '-r', '-o', dir);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/refused s3:\/\/mayfly-demo\/evil\/a\/b: "a" is both a file and a folder/);
    expect(clash.stderr).toMatch(/nothing was written \(skip them with --exclude\)/);
    await expect(stat(dir)).rejects.toThrow();
    const skipped = await get(agents[1], `s3://${stack.bucket}/evil/`, '-r', '-o', dir, '--exclude', 'a/*', '--json');
    expect(skipped.code).toBe(0);
    expect(await readFile(join(dir, 'a'), 'utf8')).toBe('a file');
    // Past the filesystem's path limit (DIR itself is long): refused, not truncated.
    const deep = join(stack.root, ...Array.from({ length: 41 }, () => 'd'.repeat(100)));
    const tooLong = await get(agents[1], `s3://${stack.bucket}/models/m/`, '-r', '-o', deep);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toMatch(/the path is longer than 4095 bytes/);
    await expect(stat(join(stack.root, 'd'.repeat(100)))).rejects.toThrow();
  });

  it('refuses HTTP(S) origins for -r, and a prefix outside the allowlist with exit 4', async () => {
    const http = await get(agents[2], 'https://releases.example.com/tools/', '-r', '-o', join(stack.root, 'x'));
    expect(http.code).toBe(2);
    expect(http.stderr).toMatch(/-r needs an s3:\/\/ prefix: HTTP\(S\) origins have no listing/);
    const denied = await get(agents[2], `s3://${stack.bucket}/secret/`, '-r', '-o', join(stack.root, 'y'));
    expect(denied.code).toBe(4);
    expect(denied.stderr).toMatch(/outside the cluster's allowed origins/);
  });
});
