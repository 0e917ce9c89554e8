import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAYFLY_BIN } from '../local/agent-process.ts';
import { startIamFront } from './fixtures/iam-front.ts';
import { LocalStack } from '../local/local-stack.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';

const REGION = 'eu-west-1';
const OPERATOR = { accessKeyId: 'AKIDOPERATOR', secretAccessKey: 'operator-secret-key-for-tests' };

/** `mayfly console` as its own process, signing with the credentials in its environment. */
async function startConsole(managerUrl: string, credentials: { accessKeyId: string; secretAccessKey: string }) {
  const child: ChildProcess = spawn(process.execPath, [MAYFLY_BIN, 'console', '--manager', managerUrl, '--region', REGION, '--port', '0'], {
    env: {
      PATH: process.env.PATH,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`mayfly console exited with ${code}`)));
  });
  const consoleUrl = /(http:\/\/\S+)/.exec(line)?.[1];
  if (!consoleUrl) throw new Error(`mayfly console printed ${line}`);
  return { consoleUrl, base: new URL(consoleUrl).origin, stop: () => child.kill('SIGTERM') };
}

/**
 * The operator's door to a deployed console. In front of the real local manager stands a
 * server that, like a Function URL with AWS_IAM auth, admits only correctly signed requests.
 */
describe('mayfly console (the signing console proxy)', () => {
  let stack: LocalStack;
  let front: Awaited<ReturnType<typeof startIamFront>>;
  let operator: Awaited<ReturnType<typeof startConsole>>;

  beforeAll(async () => {
    stack = await LocalStack.start();
    front = await startIamFront({ target: stack.manager.url, targetToken: stack.token, region: REGION, credentials: OPERATOR });
    operator = await startConsole(front.url, OPERATOR);
  });
  afterAll(async () => {
    operator?.stop();
    await front?.stop();
    await stack?.stop();
  });

  it('prints the console address and serves the page from the manager', async () => {
    expect(operator.consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console#token=/);
    const page = await fetch(`${operator.base}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<title>Mayfly console</title>');
  });

  it('signs API calls, queries and bodies included, so the IAM front admits every one', async () => {
    const refusedBefore = front.counts.refused;
    const clusters = await fetch(`${operator.base}/v1/clusters`, { headers: { authorization: 'Bearer anything' } });
    expect(clusters.status).toBe(200);
    expect(Array.isArray(((await clusters.json()) as { clusters: unknown[] }).clusters)).toBe(true);
    const tasks = await fetch(`${operator.base}/v1/tasks?limit=5`);
    expect(tasks.status).toBe(200);
    const put = await fetch(`${operator.base}/v1/clusters/proxy-made`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ settings: { parentLimit: 3 } }),
    });
    expect(put.status).toBe(200);
    const readBack = (await (await fetch(`${operator.base}/v1/clusters/proxy-made`)).json()) as { settings: { parentLimit?: number } };
    expect(readBack.settings.parentLimit).toBe(3);
    // The manager's own 4xx (and its reason) comes back unchanged.
    const bad = await fetch(`${operator.base}/v1/preheats`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"url":42}' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/url/);
    expect(front.counts.refused).toBe(refusedBefore);
  });

  it('forwards nothing but the console and /v1, and bounds request bodies', async () => {
    const admitted = front.counts.admitted;
    expect((await fetch(`${operator.base}/etc/passwd`)).status).toBe(404);
    expect((await fetch(`${operator.base}/v1/clusters`, { method: 'PATCH' })).status).toBe(405);
    const huge = await fetch(`${operator.base}/v1/preheats`, { method: 'POST', body: 'x'.repeat(2 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    expect(front.counts.admitted).toBe(admitted);
  });

  it('a caller with other credentials is refused by the front (IAM decides, not the proxy)', async () => {
    const intruder = await startConsole(front.url, { accessKeyId: OPERATOR.accessKeyId, secretAccessKey: 'not-the-operator-key' });
    try {
      const refused = front.counts.refused;
      expect((await fetch(`${intruder.base}/v1/clusters`)).status).toBe(403);
      expect(front.counts.refused).toBe(refused + 1);
    } finally {
      intruder.stop();
    }
  });

  it('answers a missing or malformed --manager with a usage error', async () => {
    const missing = await runMayfly(['console'], { PATH: process.env.PATH });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--manager/);
    const help = await runMayfly(['console', '--help'], { PATH: process.env.PATH });
    expect(help.code).toBe(0);
    expect(help.stdout.toString()).toMatch(/SigV4/);
  });
});
