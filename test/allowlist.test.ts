import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess } from '../local/agent-process.ts';
import { LocalStack } from '../local/local-stack.ts';
import { pullThrough, sha256File } from '../local/swarm-pull.ts';
import { HttpOriginServer } from './fixtures/http-origin-server.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';

const MiB = 1024 * 1024;

/**
 * Issue 13, cases 5 and 7: the allowlist's grammar (a bucket entry is one bucket; a key
 * an HTTP stack would rewrite is refused everywhere it is parsed), and a scheduler outage
 * that opens no HTTP origin the scheduler never admitted. Real scheduler, real agents,
 * the S3-compatible server behind its counting proxy and a real HTTP origin.
 */
describe('allowlist', () => {
  let web: HttpOriginServer;
  let stack: LocalStack;

  beforeAll(async () => {
    web = await HttpOriginServer.start();
    stack = await LocalStack.start({ schedulerSettings: { allowedOrigins: ['mayfly-demo/public/', `${web.url}/allowed/`] } });
    await stack.s3.send(new CreateBucketCommand({ Bucket: 'mayfly-demo-private' }));
    await stack.s3.send(new PutObjectCommand({ Bucket: 'mayfly-demo-private', Key: 'x', Body: 'private bytes' }));
    await stack.putArtifact('public/a.bin', 1 * MiB);
    await stack.putArtifact('models/a.bin', 1 * MiB);
    // A second cluster whose operator entry names the bucket alone.
    const put = await fetch(`${stack.manager.url}/v1/clusters/bucket-entry`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
      body: JSON.stringify({ settings: { allowedOrigins: ['mayfly-demo'] } }),
    });
    expect(put.status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await web?.stop();
  });

  /** A host of the fleet asking the real scheduler directly. */
  const announce = async (url: string, cluster = 'default') => {
    const response = await fetch(`${stack.scheduler.url}/v1/announce`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await stack.agentToken(`asker-${cluster}`, { cluster })}` },
      body: JSON.stringify({ url, cluster, peerId: `asker-${cluster}`, addr: 'http://127.0.0.1:9', event: 'lookup' }),
    });
    return response.status;
  };

  const cli = (agent: AgentProcess, url: string, output: string) =>
    runMayfly(['get', url, '-o', output, '-q'], { PATH: process.env.PATH, MAYFLY_API: agent.apiUrl });

  it('a bucket entry admits that bucket only: mayfly-demo does not admit mayfly-demo-private', async () => {
    expect(await announce('s3://mayfly-demo/models/a.bin', 'bucket-entry')).toBe(200);
    expect(await announce('s3://mayfly-demo-private/x', 'bucket-entry')).toBe(403);
  });

  it('a key with dot segments is refused (400) everywhere and never read: public/../models/a.bin', async () => {
    const agent = await stack.startAgent('grammar');
    const requestsBefore = stack.origin.requests();
    // The scheduler reads the canonical (encoded) spelling; the CLI and the local API read keys literally (below).
    expect(await announce('s3://mayfly-demo/public/%2E%2E/models/a.bin')).toBe(400);
    for (const url of ['s3://mayfly-demo/public/../models/a.bin', 's3://mayfly-demo/public//a.bin']) {
      expect(await announce(url), url).toBe(400);
      const output = join(stack.root, 'climbed.bin');
      const result = await cli(agent, url, output);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/segment/);
      expect(existsSync(output)).toBe(false);
      const api = await fetch(`${agent.apiUrl}/v1/objects?url=${encodeURIComponent(url)}`);
      expect(api.status).toBe(400);
    }
    // The agent's S3 endpoint, with the path sent exactly as written (fetch would resolve the dots first).
    expect(await rawGet(agent.s3Port, '/mayfly-demo/public/../models/a.bin')).toBe(400);
    expect(await rawGet(agent.s3Port, '/mayfly-demo/public/%2e%2e/models/a.bin')).toBe(400);
    expect(stack.origin.requests()).toBe(requestsBefore);
    // Typed into the CLI, `%2E%2E` is part of the key, as the AWS CLI reads it: no climbing, just a key that is not there.
    const literal = await cli(agent, 's3://mayfly-demo/public/%2E%2E/models/a.bin', join(stack.root, 'literal.bin'));
    expect(literal.code, literal.stderr).toBe(3);
  });

  it('in a scheduler outage an agent falls back only to HTTP URLs under an entry it learned from the scheduler', async () => {
    const allowed = await web.put('/allowed/tool.bin', 1 * MiB, 'tool');
    const later = await web.put('/allowed/later.bin', 1 * MiB, 'later');
    await web.put('/private/secret.bin', 1 * MiB, 'secret');
    const originHits = (path: string) => web.requests.filter((line) => line.endsWith(` ${path}`)).length;

    // A fresh host that never talked to the scheduler, which now answers 500: no HTTP origin at all.
    stack.schedulerProxy.setFault({ kind: 'error500' });
    let agent = await stack.startAgent('outage');
    for (const url of [allowed.url, `${web.url}/private/secret.bin`]) {
      const output = join(stack.root, 'outage.bin');
      const result = await cli(agent, url, output);
      expect(result.code, result.stderr).toBe(6);
      expect(result.stderr).toMatch(/allowlist entry/);
      expect(existsSync(output)).toBe(false);
    }
    expect(originHits('/allowed/tool.bin') + originHits('/private/secret.bin')).toBe(0);

    // The scheduler is back: one pull teaches the agent the cluster's http(s):// entries, kept in its data dir.
    stack.schedulerProxy.setFault(undefined);
    await pullThrough(agent, allowed.url, join(stack.root, 'tool.bin'));
    const kept = JSON.parse(await readFile(join(stack.root, 'agents', 'outage', 'http-origins.json'), 'utf8')) as string[];
    expect(kept).toEqual([`${web.url}/allowed/`]);

    // Down again, and the agent restarted: a URL under the learned entry works, one outside still does not.
    stack.schedulerProxy.setFault({ kind: 'error500' });
    try {
      await agent.stop();
      agent = new AgentProcess({ name: 'outage', env: stack.agentEnv('outage') });
      await agent.start();
      stack.agents.push(agent);
      const output = join(stack.root, 'later.bin');
      const ok = await cli(agent, later.url, output);
      expect(ok.code, ok.stderr).toBe(0);
      expect(await sha256File(output)).toBe(later.sha256);
      const refused = await cli(agent, `${web.url}/private/secret.bin`, join(stack.root, 'secret.bin'));
      expect(refused.code).toBe(6);
      expect(originHits('/private/secret.bin')).toBe(0);
    } finally {
      stack.schedulerProxy.setFault(undefined);
    }
  });
});

/** GET with the path sent byte for byte (no URL normalisation); resolves the status. */
function rawGet(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}
