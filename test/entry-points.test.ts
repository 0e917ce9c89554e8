import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import { LocalStack } from '../local/local-stack.ts';
import { sha256File } from '../local/swarm-pull.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';

const KiB = 1024;

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
});
