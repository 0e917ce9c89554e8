import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import { LocalStack } from '../local/local-stack.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';

/**
 * Issue 18, `-r` when the control plane is unreachable: the tree is listed with
 * the host's own credentials and each object read from S3 directly, the same
 * rule as a single object's fallback (README, "fallback to S3").
 */
describe('mayfly get -r with the scheduler down', { timeout: 240_000 }, () => {
  let stack: LocalStack;
  let agent: AgentProcess;
  const files = new Map<string, Buffer>();
  const logs: string[] = [];

  beforeAll(async () => {
    stack = await LocalStack.start({ schedulerSettings: { allowedOrigins: ['mayfly-demo/outage/'] }, onAgentLog: (_name, line) => logs.push(line) });
    for (const key of ['config.json', 'tok/vocab.txt', 'weights.bin']) files.set(key, randomBytes(key === 'weights.bin' ? 300_000 : 500));
    await Promise.all([...files].map(([key, body]) => stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: `outage/m/${key}`, Body: body }))));
    agent = await stack.startAgent('outage-1');
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('lists with the host’s credentials and pulls every object from S3 directly, verified', async () => {
    const dir = join(stack.root, 'outage-tree');
    stack.schedulerProxy.setFault({ kind: 'reset' });
    try {
      const result = await runMayfly(['get', `s3://${stack.bucket}/outage/m/`, '-r', '-o', dir, '--json'], { PATH: process.env.PATH, MAYFLY_API: agent.apiUrl });
      expect(result.stderr.toString()).toBe('');
      expect(result.code).toBe(0);
      const total = [...files.values()].reduce((sum, body) => sum + body.length, 0);
      expect(JSON.parse(result.stdout.toString())).toMatchObject({ files: 3, pulled: 3, bytes: total, bytesFromOrigin: total, bytesFromPeers: 0 });
      for (const [key, body] of files) expect((await readFile(join(dir, key))).equals(body), key).toBe(true);
    } finally {
      stack.schedulerProxy.setFault(undefined);
    }
    expect(logs.join('\n')).toMatch(/listing with this host's own credentials/);
  });

  it('keeps a pack of small objects one pull: read from S3 as a pack, not one pull per member', async () => {
    const packer = await stack.startAgent('outage-2');
    const dir = join(stack.root, 'outage-packs');
    stack.schedulerProxy.setFault({ kind: 'reset' });
    try {
      const result = await runMayfly(['get', `s3://${stack.bucket}/outage/m/`, '-r', '-o', dir, '--json'], { PATH: process.env.PATH, MAYFLY_API: packer.apiUrl });
      expect(result.code).toBe(0);
      for (const [key, body] of files) expect((await readFile(join(dir, key))).equals(body), key).toBe(true);
    } finally {
      stack.schedulerProxy.setFault(undefined);
    }
    const { tasks } = (await (await fetch(`${packer.apiUrl}/v1/tasks`)).json()) as { tasks: Array<{ url: string }> };
    // Before: the pack failed with the scheduler and each member was pulled on its own (3 tasks).
    expect(tasks.map((task) => task.url.split('://')[0])).toEqual(['mayfly-pack']);
  });

  it('opens a pack again when its open failed but the announce got through (the scheduler did not know the pack)', async () => {
    const joiner = await stack.startAgent('outage-3');
    const dir = join(stack.root, 'outage-reopen');
    // Every attempt of the first open answers 503; the announce that follows reaches the scheduler.
    const faultsBefore = stack.schedulerProxy.faultsInjected();
    stack.schedulerProxy.setFault({ kind: 'slowdown', pathPrefix: '/v1/packs', limit: 3 });
    try {
      const result = await runMayfly(['get', `s3://${stack.bucket}/outage/m/`, '-r', '-o', dir, '--json'], { PATH: process.env.PATH, MAYFLY_API: joiner.apiUrl });
      // Before: the announce was answered "unknown pack" (404) and the pack fell apart into one pull per member.
      expect(result.stderr.toString()).toBe('');
      expect(result.code).toBe(0);
      for (const [key, body] of files) expect((await readFile(join(dir, key))).equals(body), key).toBe(true);
      expect(stack.schedulerProxy.faultsInjected() - faultsBefore).toBe(3);
    } finally {
      stack.schedulerProxy.setFault(undefined);
    }
    const { tasks } = (await (await fetch(`${joiner.apiUrl}/v1/tasks`)).json()) as { tasks: Array<{ url: string }> };
    expect(tasks.map((task) => task.url.split('://')[0])).toEqual(['mayfly-pack']);
    // The pack joined its swarm: the scheduler knows its task, with this agent in it.
    const swarm = await fetch(`${stack.scheduler.url}/v1/tasks?${new URLSearchParams({ url: tasks[0]!.url })}`, { headers: { authorization: `Bearer ${stack.token}` } });
    expect(swarm.status, await swarm.clone().text()).toBe(200);
    expect(((await swarm.json()) as { peers: Array<{ peerId: string }> }).peers.map((peer) => peer.peerId)).toContain(joiner.name);
  });
});
