import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';

export interface DynamoServer {
  readonly kind: 'dynalite' | 'dynamodb-local';
  readonly endpoint: string;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** dynalite: a DynamoDB-compatible server in pure Node, in this process. */
export async function startDynalite(): Promise<DynamoServer> {
  const dynalite = require('dynalite') as (options: object) => import('node:net').Server;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  // dynalite closes its database when the server closes: a request still being handled then
  // throws "Database is closed" from a callback, uncaught. Stop lets those finish first.
  let handling = 0;
  server.on('request', (_req: unknown, res: import('node:http').ServerResponse) => {
    handling++;
    res.once('close', () => handling--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const http = server as unknown as { closeAllConnections?: () => void; closeIdleConnections?: () => void };
  return {
    kind: 'dynalite',
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const deadline = Date.now() + 5_000; handling > 0 && Date.now() < deadline; ) {
        http.closeIdleConnections?.();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      // Drop keep-alive connections too, so clients see the server as really gone.
      http.closeAllConnections?.();
      await closed;
    },
  };
}

/** DynamoDB Local, AWS's own emulator (Java), from the jar inside amplify-dynamodb-simulator. */
export async function startDynamoDbLocal(): Promise<DynamoServer> {
  const root = join(dirname(require.resolve('amplify-dynamodb-simulator/package.json')), 'emulator');
  const port = await freePort();
  const child = spawn(
    'java',
    [`-Djava.library.path=${join(root, 'DynamoDBLocal_lib')}`, '-jar', join(root, 'DynamoDBLocal.jar'), '-inMemory', '-port', String(port), '-disableTelemetry'],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited: ${output}`);
    const up = await fetch(endpoint, { method: 'POST' }).then(() => true, () => false);
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`DynamoDB Local did not start within 30 s: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    kind: 'dynamodb-local',
    endpoint,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
