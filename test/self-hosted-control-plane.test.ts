import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess } from '../local/agent-process.ts';
import { uploadArtifact } from '../local/artifact.ts';
import { startDynalite, type DynamoServer } from '../local/dynamo-server.ts';
import { LOCAL_S3_CREDENTIALS, localS3Client, startS3Server, type S3Server } from '../local/s3-server.ts';
import { ServerProcess } from '../local/server-process.ts';
import { pullThrough, sha256File } from '../local/swarm-pull.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';

const MiB = 1024 * 1024;
const TOKEN = 'operator-token-self-hosted';

/**
 * `mayfly scheduler` and `mayfly manager`: the control plane on Node from its documented
 * commands, against a DynamoDB-compatible and an S3-compatible server, nothing in-process.
 */
describe('self-hosted control plane', () => {
  let root: string;
  let dynamo: DynamoServer;
  let s3: S3Server;
  const servers: ServerProcess[] = [];
  const agents: AgentProcess[] = [];

  const awsEnv = () => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'mayfly-self-hosted-'));
    dynamo = await startDynalite();
    s3 = await startS3Server(root, ['artifacts']);
  });

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.stop()));
    await Promise.all(servers.map((server) => server.stop()));
    await s3?.stop();
    await dynamo?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('mayfly manager creates its table and issues a token; mayfly scheduler answers a real agent\'s announces', async () => {
    const storeFlags = ['--table', 'selfhosted', '--dynamodb-endpoint', dynamo.endpoint, '--s3-endpoint', s3.endpoint, '--region', 'eu-west-1'];
    const manager = new ServerProcess({ service: 'manager', args: [...storeFlags, '--create-table'], env: { ...awsEnv(), MAYFLY_TOKEN: TOKEN } });
    servers.push(manager);
    await manager.start();
    expect(manager.lines.join('\n')).toContain('"msg":"table ready"');

    const enrol = await fetch(`${manager.url}/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ name: 'agent one', scope: 'agent', peerId: 'agent-1', addrs: ['127.0.0.1'] }),
    });
    expect(enrol.status).toBe(201);
    const { token } = (await enrol.json()) as { token: string };

    const scheduler = new ServerProcess({
      service: 'scheduler',
      args: [...storeFlags, '--create-table', '--token', TOKEN, '--peer-secret', 'a-peer-secret-of-this-test-0123456789'],
      env: awsEnv(),
    });
    servers.push(scheduler);
    await scheduler.start();

    const artifact = await uploadArtifact(localS3Client(s3.endpoint), 'artifacts', 'models/self-hosted.bin', 8 * MiB);
    const agent = new AgentProcess({
      name: 'agent-1',
      env: {
        ...awsEnv(),
        AWS_REGION: 'eu-west-1',
        MAYFLY_SCHEDULER_URL: scheduler.url,
        MAYFLY_TOKEN: token,
        MAYFLY_S3_ENDPOINT: s3.endpoint,
        MAYFLY_DATA_DIR: join(root, 'agent-1'),
        MAYFLY_PEER_ID: 'agent-1',
        MAYFLY_PEER_HOST: '127.0.0.1',
        MAYFLY_PEER_PORT: '0',
        MAYFLY_API_PORT: '0',
        MAYFLY_S3_PORT: '0',
      },
    });
    agents.push(agent);
    await agent.start();
    const output = join(root, 'self-hosted.bin');
    const result = await pullThrough(agent, artifact.url, output);
    expect(result.size).toBe(artifact.size);
    expect(await sha256File(output)).toBe(artifact.sha256);

    // The scheduler knows the task and the agent: its read route, with the operator token.
    const tasks = (await (await fetch(`${manager.url}/v1/tasks`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { tasks: Array<{ url: string }> };
    expect(tasks.tasks.map((task) => task.url)).toContain(artifact.url);
  });

  it('--help names every setting the server reads from its environment', async () => {
    const sources = async (...files: string[]) => (await Promise.all(files.map((file) => readFile(new URL(`../${file}`, import.meta.url), 'utf8')))).join('\n');
    const variables = (text: string) => [...new Set([...text.matchAll(/env\.(MAYFLY_[A-Z0-9_]+|AWS_REGION)/g)].map((m) => m[1]))];
    const cases = [
      { command: 'scheduler', read: variables(await sources('lambdas/scheduler/wiring.ts', 'lambdas/stores/s3-client.ts')) },
      { command: 'manager', read: variables(await sources('lambdas/manager/wiring.ts', 'lambdas/stores/s3-client.ts')) },
    ];
    for (const { command, read } of cases) {
      const help = await runMayfly([command, '--help'], { PATH: process.env.PATH });
      expect(help.code).toBe(0);
      const text = help.stdout.toString();
      expect(read.length).toBeGreaterThan(2);
      for (const variable of [...read, 'MAYFLY_CREATE_TABLE', 'PORT', 'HOST', 'MAYFLY_LOG_LEVEL', 'MAYFLY_METRICS']) expect(text, `${command} --help names ${variable}`).toContain(variable);
    }
    const top = await runMayfly(['--help'], { PATH: process.env.PATH });
    expect(top.stdout.toString()).toMatch(/scheduler[\s\S]*manager/);
  });

  it('bad settings are a usage error with a reason, not a crash', async () => {
    const missing = await runMayfly(['scheduler'], { PATH: process.env.PATH });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--table (MAYFLY_TABLE) is required');
    const unknown = await runMayfly(['manager', '--tabel', 'x'], { PATH: process.env.PATH });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("--tabel");
  });
});
