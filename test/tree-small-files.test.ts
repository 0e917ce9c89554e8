import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { choosePieceLength, pieceCountOf } from '../core/piece-math.ts';
import type { AgentProcess } from '../local/agent-process.ts';
import type { Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';
import { sha256File } from '../local/swarm-pull.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';

const FILES = 60;
const MiB = 1024 * 1024;

/**
 * Issue 18, part 4: many small files are cheap. A tree of small objects and one
 * multi-piece shard pulled with `mayfly get -r` by three agents at once: the small
 * objects go in packs (core/pack.ts), one shared task each, so S3 serves each object
 * about once and the scheduler hears from each host per pack, not per object. A pack
 * is admitted only whole, and a member changed since the listing fails the pack (its
 * reads are pinned to the listed ETags) rather than mixing versions.
 */
describe('a tree of many small files', { timeout: 240_000 }, () => {
  let stack: LocalStack;
  let agents: AgentProcess[];
  let shard: Artifact;
  const files = new Map<string, Buffer>();
  const put = (key: string, body: Buffer | string) => stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body }));

  beforeAll(async () => {
    stack = await LocalStack.start({ schedulerSettings: { allowedOrigins: ['mayfly-demo/small/', 'mayfly-demo/packs/'] } });
    for (let i = 0; i < FILES; i++) files.set(`d${i % 7}/f-${i}.json`, randomBytes(2_000 + 97 * i));
    const keys = [...files.keys()];
    for (let i = 0; i < keys.length; i += 20) await Promise.all(keys.slice(i, i + 20).map((key) => put(`small/t/${key}`, files.get(key)!)));
    shard = await stack.putArtifact('small/t/shards/model.safetensors', 12 * MiB + 5);
    await put('secret/x.json', 'not for agents');
    agents = await Promise.all([1, 2, 3].map((i) => stack.startAgent(`small-${i}`)));
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('three agents pull it at once: every file byte-exact, S3 reads each object about once, few scheduler requests per host', async () => {
    stack.origin.reset();
    stack.schedulerProxy.reset();
    const dirs = agents.map((agent) => join(stack.root, `small-${agent.name}`));
    const results = await Promise.all(
      agents.map((agent, i) => runMayfly(['get', `s3://${stack.bucket}/small/t/`, '-r', '-o', dirs[i], '--json'], { PATH: process.env.PATH, MAYFLY_API: agent.apiUrl })),
    );
    for (const [i, result] of results.entries()) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout.toString())).toMatchObject({ files: FILES + 1, pulled: FILES + 1 });
      for (const [key, body] of files) expect((await readFile(join(dirs[i], key))).equals(body), key).toBe(true);
      expect(await sha256File(join(dirs[i], 'shards/model.safetensors'))).toBe(shard.sha256);
    }
    const objects = FILES + 1;
    const shardPieces = pieceCountOf(shard.size, choosePieceLength(shard.size));
    const gets = stack.origin.requestsBy('GET', `/${stack.bucket}/small/`);
    // Host heartbeats (every second on the local stack) are per host and time, not per object: counted apart.
    const heartbeats = stack.schedulerProxy.requestsBy('POST', '/v1/hosts/heartbeat');
    const perHost = (stack.schedulerProxy.requests() - heartbeats) / agents.length;
    console.log(
      `${objects} objects (${shardPieces} shard pieces) to 3 agents: ${gets} S3 GETs (${(gets / (FILES + shardPieces)).toFixed(2)} × objects + pieces), ` +
        `${perHost.toFixed(1)} scheduler requests per host (${(perHost / objects).toFixed(2)} per object; ${stack.schedulerProxy.requestsBy('POST', '/v1/packs') / 3} pack opens, ` +
        `${stack.schedulerProxy.requestsBy('POST', '/v1/announce') / 3} announces per host) besides ${heartbeats} heartbeats`,
    );
    expect(gets).toBeLessThanOrEqual(1.2 * (FILES + shardPieces));
    expect(perHost).toBeLessThan(0.5 * objects);
  });

  it('a pack with a member outside the allowlist is refused whole', async () => {
    const agent = agents[0];
    const members = [
      { key: 'secret/x.json', size: 14, etag: '"0"' },
      { key: 'small/t/d0/f-0.json', size: files.get('d0/f-0.json')!.length, etag: '"1"' },
    ];
    const response = await fetch(`${agent.apiUrl}/v1/packs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ bucket: stack.bucket, members }) });
    const body = (await response.json()) as { error?: string; message?: string };
    expect(response.status, JSON.stringify(body)).toBe(403);
    expect(body.message).toMatch(/secret\/x\.json.*outside/);
  });

  it('a member changed since the listing fails its pack (never mixed bytes); a fresh tree pull gets the current bytes', async () => {
    const agent = agents[1];
    const before = new Map<string, Buffer>();
    for (let i = 0; i < 5; i++) before.set(`packs/p/f-${i}.txt`, randomBytes(3_000 + i));
    await Promise.all([...before].map(([key, body]) => put(key, body)));
    const listing = (await (await fetch(`${agent.apiUrl}/v1/listings?url=${encodeURIComponent(`s3://${stack.bucket}/packs/p/`)}`)).json()) as {
      objects: { key: string; size: number; etag: string }[];
    };
    expect(listing.objects).toHaveLength(5);
    // The object changes after the tree was listed (same size: only the ETag tells).
    const changed = randomBytes(3_002);
    await put('packs/p/f-2.txt', changed);
    const members = listing.objects.map(({ key, size, etag }) => ({ key, size, etag }));
    const response = await fetch(`${agent.apiUrl}/v1/packs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ bucket: stack.bucket, members }) });
    const body = (await response.json()) as { error?: string; message?: string };
    expect(response.ok, JSON.stringify(body)).toBe(false);
    expect(body.message).toMatch(/f-2\.txt.*changed|changed.*f-2\.txt/);

    // The CLI lists afresh, and a pack that fails hands its members to single pulls: the current bytes, whole.
    const dir = join(stack.root, 'packs-changed');
    const result = await runMayfly(['get', `s3://${stack.bucket}/packs/p/`, '-r', '-o', dir, '--json'], { PATH: process.env.PATH, MAYFLY_API: agent.apiUrl });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    before.set('packs/p/f-2.txt', changed);
    for (const [key, bytes] of before) expect((await readFile(join(dir, key.slice('packs/p/'.length)))).equals(bytes), key).toBe(true);
  });
});
