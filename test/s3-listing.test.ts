import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { GetBucketLocationCommand, HeadBucketCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import { LocalStack } from '../local/local-stack.ts';
import { requireTool, runTool } from './fixtures/run-tool.ts';

/** A 60-file model tree: nested folders, keys with spaces, unicode and a `+`. */
function treeKeys(): string[] {
  // Every folder holds an object directly: the local S3 server (s3rver) rolls a folder up only then.
  const keys = ['config.json', 'a/README.md', 'a/b/notes.txt', 'a/b/c/notes.txt', 'tokenizer/tokenizer.json', 'tokenizer/special tokens map.json', 'plus+sign.txt'];
  for (let i = 0; i < 3; i++) keys.push(`shards/model-0000${i + 1}-of-00003.safetensors`);
  for (let i = 0; i < 18; i++) keys.push(`dir with spaces/file ${i}.txt`);
  for (let i = 0; i < 18; i++) keys.push(`ünïcødé/日本語 ${i}.bin`);
  for (let i = 0; keys.length < 60; i++) keys.push(`a/b/c/d/leaf-${i}.txt`);
  return keys.map((key) => `models/m/${key}`);
}

async function filesUnder(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path), await readFile(path));
  }
  return files;
}

/**
 * Issue 18, part 2: the agent's S3 endpoint lists (ListObjectsV2 and v1, HeadBucket,
 * GetBucketLocation) from the control plane's listing, so the real aws CLI, rclone and
 * botocore's paginator pull a tree through the agent unchanged. Real agent process,
 * real scheduler, the S3-compatible server.
 */
// Each object of a tree is its own task (announce, HeadObject, control-plane digests): on a loaded
// 2-core machine a 60-file tree takes a minute or more, so each case gets five.
describe('S3 tools list and sync through the agent', { timeout: 300_000 }, () => {
  let stack: LocalStack;
  let agent: AgentProcess;
  let home: string;
  const keys = treeKeys();
  const bodies = new Map<string, Buffer>();
  const manyKeys = Array.from({ length: 1_005 }, (_, i) => `many/k-${String(i).padStart(5, '0')}`);

  const awsEnv = () => ({ PATH: process.env.PATH, HOME: home, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_DEFAULT_REGION: 'us-east-1', AWS_CA_BUNDLE: process.env.AWS_CA_BUNDLE });
  const aws = (...args: string[]) => runTool('aws', ['s3', ...args, '--endpoint-url', agent.s3Url], awsEnv());
  const put = (key: string, body: Buffer | string) => stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body }));

  beforeAll(async () => {
    requireTool('aws', 'apt-get install awscli');
    requireTool('rclone', 'apt-get install rclone');
    stack = await LocalStack.start({ schedulerSettings: { allowedOrigins: ['mayfly-demo/models/', 'mayfly-demo/many/'] } });
    home = await mkdtemp(join(stack.root, 'home-'));
    for (const [i, key] of keys.entries()) bodies.set(key, randomBytes(key.includes('shards/') ? 1024 * 1024 + i : 100 + i * 37));
    for (let i = 0; i < keys.length; i += 20) await Promise.all(keys.slice(i, i + 20).map((key) => put(key, bodies.get(key)!)));
    for (let i = 0; i < manyKeys.length; i += 50) await Promise.all(manyKeys.slice(i, i + 50).map((key) => put(key, key)));
    await put('secret/x.txt', 'not for agents');
    agent = await stack.startAgent('lister-agent');
  }, 240_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const expectTree = async (dir: string) => {
    const files = await filesUnder(dir);
    expect([...files.keys()].sort()).toEqual(keys.map((key) => key.slice('models/m/'.length)).sort());
    for (const [key, body] of bodies) expect(files.get(key.slice('models/m/'.length))?.equals(body), key).toBe(true);
  };

  it('aws s3 ls shows folders and objects with S3 sizes; --recursive lists past 1,000 keys', async () => {
    const top = await aws('ls', `s3://${stack.bucket}/models/m/`);
    expect(top.stderr).toBe('');
    expect(top.code).toBe(0);
    for (const folder of ['a/', 'dir with spaces/', 'shards/', 'tokenizer/', 'ünïcødé/']) expect(top.stdout).toContain(`PRE ${folder}`);
    expect(top.stdout).toMatch(new RegExp(`\\s${bodies.get('models/m/config.json')!.length} config\\.json`));
    const many = await aws('ls', '--recursive', `s3://${stack.bucket}/many/`);
    expect(many.code).toBe(0);
    expect(many.stdout.trim().split('\n')).toHaveLength(1_005);
  });

  it('aws s3 sync pulls a 60-file nested tree; after one object changed, only that object moves', async () => {
    const dir = await mkdtemp(join(stack.root, 'sync-'));
    const first = await aws('sync', `s3://${stack.bucket}/models/m/`, dir, '--no-progress');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    await expectTree(dir);
    const changed = 'models/m/dir with spaces/file 3.txt';
    bodies.set(changed, randomBytes(bodies.get(changed)!.length + 11));
    await put(changed, bodies.get(changed)!);
    const second = await aws('sync', `s3://${stack.bucket}/models/m/`, dir, '--no-progress');
    expect(second.code).toBe(0);
    const moved = second.stdout.trim().split('\n').filter((line) => line.startsWith('download:'));
    expect(moved).toHaveLength(1);
    expect(moved[0]).toMatch(new RegExp(`^download: s3://${stack.bucket}/${changed} to .*/dir with spaces/file 3\\.txt$`));
    await expectTree(dir);
  });

  it('aws s3 cp --recursive pulls the tree', async () => {
    const dir = await mkdtemp(join(stack.root, 'cp-'));
    const result = await aws('cp', '--recursive', `s3://${stack.bucket}/models/m/`, dir, '--no-progress');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    await expectTree(dir);
  });

  it('rclone ls, copy and cat work against the agent', async () => {
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      RCLONE_CONFIG_MF_TYPE: 's3',
      RCLONE_CONFIG_MF_PROVIDER: 'Other',
      RCLONE_CONFIG_MF_ENDPOINT: agent.s3Url,
      RCLONE_CONFIG_MF_ACCESS_KEY_ID: 'x',
      RCLONE_CONFIG_MF_SECRET_ACCESS_KEY: 'y',
      RCLONE_CONFIG_MF_REGION: 'us-east-1',
      // Go programs take AWS_CA_BUNDLE as the only trust store: left unset.
    };
    const listed = await runTool('rclone', ['ls', `mf:${stack.bucket}/models/m`], env);
    // rclone notes that it runs without a config file; anything else on stderr is a failure.
    const noise = (stderr: string) => stderr.split('\n').filter((line) => line && !/NOTICE: Config file .* not found/.test(line));
    expect(noise(listed.stderr)).toEqual([]);
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n')).toHaveLength(60);
    const dir = await mkdtemp(join(stack.root, 'rclone-'));
    const copied = await runTool('rclone', ['copy', `mf:${stack.bucket}/models/m`, dir], env);
    expect(noise(copied.stderr)).toEqual([]);
    expect(copied.code).toBe(0);
    await expectTree(dir);
    const cat = await runTool('rclone', ['cat', `mf:${stack.bucket}/models/m/config.json`], env);
    expect(cat.code).toBe(0);
    expect(Buffer.from(cat.stdout, 'latin1').length).toBeGreaterThan(0);
    expect(cat.stdout).toBe(bodies.get('models/m/config.json')!.toString());
  });

  it("botocore's list_objects_v2 and list_objects paginators page past 1,000 keys", async () => {
    const script = [
      'import json, sys',
      'try:',
      '    import boto3; client = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"); which = "boto3"',
      'except ImportError:',
      '    import botocore.session; client = botocore.session.get_session().create_client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"); which = "botocore"',
      'out = {"which": which}',
      'for op in ("list_objects_v2", "list_objects"):',
      '    pages = list(client.get_paginator(op).paginate(Bucket=sys.argv[2], Prefix="many/", PaginationConfig={"PageSize": 400}))',
      '    out[op] = {"pages": len(pages), "keys": [o["Key"] for p in pages for o in p.get("Contents", [])]}',
      'print(json.dumps(out))',
    ].join('\n');
    const result = await runTool('python3', ['-c', script, agent.s3Url, stack.bucket], awsEnv());
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as Record<string, { pages: number; keys: string[] }> & { which: string };
    console.log(`paginators from ${out.which}`);
    for (const op of ['list_objects_v2', 'list_objects']) {
      expect(out[op].pages).toBe(3);
      expect(out[op].keys).toEqual(manyKeys);
    }
  });

  it('answers HeadBucket, GetBucketLocation, url-encoded keys, delimiters and v1 markers as S3 does', async () => {
    const s3 = new S3Client({ endpoint: agent.s3Url, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    try {
      expect((await s3.send(new HeadBucketCommand({ Bucket: stack.bucket }))).$metadata.httpStatusCode).toBe(200);
      expect((await s3.send(new GetBucketLocationCommand({ Bucket: stack.bucket }))).LocationConstraint ?? '').toBe('');
      const encoded = await s3.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: 'models/m/ünïcødé/', EncodingType: 'url', MaxKeys: 5 }));
      // The SDK hands url-encoded keys back as S3 sent them: the caller decodes.
      expect(encoded.Contents?.map((object) => decodeURIComponent(object.Key!))).toEqual(keys.filter((key) => key.includes('ünïcødé')).sort().slice(0, 5));
      expect(encoded.IsTruncated).toBe(true);
      const folders = await s3.send(new ListObjectsCommand({ Bucket: stack.bucket, Prefix: 'models/m/', Delimiter: '/' }));
      expect(folders.CommonPrefixes?.map((entry) => entry.Prefix)).toEqual(['models/m/a/', 'models/m/dir with spaces/', 'models/m/shards/', 'models/m/tokenizer/', 'models/m/ünïcødé/']);
      expect(folders.Contents?.map((object) => object.Key)).toEqual(['models/m/config.json', 'models/m/plus+sign.txt']);
      // v1 pages by marker: NextMarker is the page's last key.
      const shards = keys.filter((key) => key.includes('/shards/')).sort();
      const first = await s3.send(new ListObjectsCommand({ Bucket: stack.bucket, Prefix: 'models/m/shards/', MaxKeys: 2 }));
      expect(first.Contents?.map((object) => object.Key)).toEqual(shards.slice(0, 2));
      expect([first.IsTruncated, first.NextMarker]).toEqual([true, shards[1]]);
      const rest = await s3.send(new ListObjectsCommand({ Bucket: stack.bucket, Prefix: 'models/m/shards/', Marker: first.NextMarker }));
      expect(rest.Contents?.map((object) => object.Key)).toEqual(shards.slice(2));
      const after = await s3.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: 'models/m/shards/', StartAfter: 'models/m/shards/model-00001-of-00003.safetensors' }));
      expect(after.KeyCount).toBe(2);
    } finally {
      s3.destroy();
    }
  });

  it('refuses a listing outside the allowlist with AccessDenied', async () => {
    const result = await aws('ls', `s3://${stack.bucket}/secret/`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/AccessDenied/);
    const bad = await fetch(`${agent.s3Url}/${stack.bucket}?list-type=2&max-keys=lots`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('<Code>InvalidArgument</Code>');
  });
});
