/**
 * One host's puller in the swarm benchmark, run inside that host's namespace.
 * It prints a ready line, waits for `go <epoch ms>` on stdin, pulls, prints
 * `{done: true, seconds, ...}`; on `verify` it checks the output's sha256,
 * prints `{verified}` and deletes the output.
 *
 *   --mode mayfly  POST /v1/pulls to the agent of this namespace (its local API)
 *   --mode direct  one GetObject straight from S3 to the file, as a host without Mayfly would
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createWriteStream } from 'node:fs';
import { request } from 'node:http';
import { rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { parseS3Url } from '../../core/origin-url.ts';
import { localS3Client } from '../stack/s3-server.ts';
import { sha256File } from '../stack/swarm-pull.ts';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    url: { type: 'string' },
    output: { type: 'string' },
    api: { type: 'string', default: 'http://127.0.0.1:7401' },
    's3-endpoint': { type: 'string' },
    sha256: { type: 'string' },
  },
});
const { mode, url, output } = values;
if ((mode !== 'mayfly' && mode !== 'direct') || !url || !output) throw new Error('--mode mayfly|direct, --url and --output are required');

const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);

/** node:http rather than fetch: a pull may take longer than fetch's 300 s header timeout. */
function postJson(target: string, payload: object): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(target, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        } catch {
          reject(new Error(`agent answered ${res.statusCode}: ${text.slice(0, 200)}`));
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(payload));
  });
}

async function viaAgent(): Promise<object> {
  const { status, body } = await postJson(`${values.api}/v1/pulls`, { url, output });
  if (status !== 200) throw new Error(`agent answered ${status}: ${String(body.message)}`);
  return { bytesFromPeers: body.bytesFromPeers, bytesFromOrigin: body.bytesFromOrigin, direct: body.direct };
}

async function straightFromS3(): Promise<object> {
  if (!values['s3-endpoint']) throw new Error('--s3-endpoint is required for --mode direct');
  const location = parseS3Url(url!);
  const s3 = localS3Client(values['s3-endpoint']);
  const temp = `${output}.part`;
  try {
    const answer = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    await pipeline(answer.Body as Readable, createWriteStream(temp));
    await rename(temp, output!);
    return { bytesFromPeers: 0, bytesFromOrigin: answer.ContentLength };
  } finally {
    s3.destroy();
  }
}

say({ ready: true });
const lines = createInterface({ input: process.stdin });
let goAt: ((epochMs: number) => void) | undefined;
let verifyNow: (() => void) | undefined;
const go = new Promise<number>((resolve) => (goAt = resolve));
const verify = new Promise<void>((resolve) => (verifyNow = resolve));
lines.on('line', (line) => {
  const match = /^go (\d+)$/.exec(line.trim());
  if (match) goAt?.(Number(match[1]));
  if (line.trim() === 'verify') verifyNow?.();
});
try {
  const started = await go;
  const result = mode === 'mayfly' ? await viaAgent() : await straightFromS3();
  say({ done: true, seconds: (Date.now() - started) / 1000, ...result });
  // Hash only when told: an early finisher must not take CPU from hosts still pulling.
  await verify;
  if (values.sha256) say({ verified: (await sha256File(output)) === values.sha256 });
  else say({ verified: null });
} catch (error) {
  say({ done: true, error: (error as Error).message });
} finally {
  await rm(output, { force: true });
  await rm(`${output}.part`, { force: true });
  lines.close();
  process.exit(0);
}
