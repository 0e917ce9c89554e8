import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../cdk/lib/local-bundle.ts';

const ENTRYPOINT = join(REPO_ROOT, 'cdk', 'agent-image', 'entrypoint.mjs');
const METADATA: Record<string, string> = {
  'placement/region': 'eu-west-1',
  'placement/availability-zone': 'eu-west-1b',
  'instance-id': 'i-0123456789abcdef0',
  'local-ipv4': '10.1.2.3',
};

const TASK_ARN = 'arn:aws:ecs:eu-west-1:123456789012:task/apps/0123456789abcdef0123456789abcdef';

/** An IMDSv2 stand-in: a token from PUT /latest/api/token, required on every metadata GET. */
function startMetadataService(asked: string[]): Promise<Server> {
  const server = createServer((request, response) => {
    // The ECS task metadata endpoint v4 (ECS_CONTAINER_METADATA_URI_V4 points at /ecs here).
    if (request.method === 'GET' && request.url === '/ecs/task') {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ Cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/apps', TaskARN: TASK_ARN }));
      return;
    }
    if (request.method === 'PUT' && request.url === '/latest/api/token' && request.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
      response.end('token-1');
      return;
    }
    const path = request.url?.replace('/latest/meta-data/', '') ?? '';
    if (request.headers['x-aws-ec2-metadata-token'] !== 'token-1') {
      response.writeHead(401).end();
      return;
    }
    asked.push(path);
    if (METADATA[path] === undefined) response.writeHead(404).end();
    else response.end(METADATA[path]);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Runs the entrypoint with a stand-in bundle that prints what the agent would see. */
async function runEntrypoint(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const folder = mkdtempSync(join(tmpdir(), 'mayfly-entrypoint-'));
  const bundle = join(folder, 'mayfly.mjs');
  const names = ['AWS_REGION', 'MAYFLY_SITE', 'MAYFLY_PEER_ID', 'MAYFLY_ADVERTISE_HOST'];
  writeFileSync(bundle, `console.log(JSON.stringify({ argv: process.argv.slice(2), env: Object.fromEntries(${JSON.stringify(names)}.map((n) => [n, process.env[n]])) }));\n`);
  const child = spawn(process.execPath, [ENTRYPOINT, '--log-level', 'debug'], {
    env: { PATH: process.env.PATH ?? '', MAYFLY_AGENT_BUNDLE: bundle, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [code] = await once(child, 'exit');
  return { code, stdout, stderr };
}

describe('ECS agent image entrypoint (cdk/agent-image/entrypoint.mjs)', () => {
  let server: Server;
  let endpoint: string;
  const asked: string[] = [];

  beforeAll(async () => {
    server = await startMetadataService(asked);
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('GIVEN IMDSv2 answers THEN the agent starts with region, site, peer id and address from it, and its own arguments', async () => {
    const { code, stdout, stderr } = await runEntrypoint({ MAYFLY_IMDS_ENDPOINT: endpoint });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      argv: ['agent', '--log-level', 'debug'],
      env: { AWS_REGION: 'eu-west-1', MAYFLY_SITE: 'eu-west-1b', MAYFLY_PEER_ID: 'i-0123456789abcdef0', MAYFLY_ADVERTISE_HOST: '10.1.2.3' },
    });
  });

  it('GIVEN the task sets a value THEN it wins and is not asked for', async () => {
    asked.length = 0;
    const { code, stdout } = await runEntrypoint({ MAYFLY_IMDS_ENDPOINT: endpoint, MAYFLY_SITE: 'rack-7', AWS_REGION: 'us-west-2' });
    expect(code).toBe(0);
    expect(JSON.parse(stdout).env).toMatchObject({ MAYFLY_SITE: 'rack-7', AWS_REGION: 'us-west-2', MAYFLY_PEER_ID: 'i-0123456789abcdef0' });
    expect(asked.sort()).toEqual(['instance-id', 'local-ipv4']);
  });

  it('GIVEN an ECS task THEN its peer id is the task id (the task role\'s session name the scheduler binds), the rest from IMDS', async () => {
    asked.length = 0;
    const { code, stdout, stderr } = await runEntrypoint({ MAYFLY_IMDS_ENDPOINT: endpoint, ECS_CONTAINER_METADATA_URI_V4: `${endpoint}/ecs` });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).env).toEqual({ AWS_REGION: 'eu-west-1', MAYFLY_SITE: 'eu-west-1b', MAYFLY_PEER_ID: '0123456789abcdef0123456789abcdef', MAYFLY_ADVERTISE_HOST: '10.1.2.3' });
    expect(asked).not.toContain('instance-id');
  });

  it('GIVEN no metadata service THEN the task stops with a message and the agent never starts', async () => {
    const { code, stdout, stderr } = await runEntrypoint({ MAYFLY_IMDS_ENDPOINT: 'http://127.0.0.1:9' });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^mayfly entrypoint: .*allow IMDSv2/);
  });
});
