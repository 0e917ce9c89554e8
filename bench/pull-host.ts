/**
 * One host's puller in the swarm benchmark, run inside that host's namespace.
 * It prints a ready line, waits for `go <epoch ms>` on stdin, pulls, prints
 * `{done: true, seconds, ...}`; on `verify` it checks the output's sha256,
 * prints `{verified}` and deletes the output.
 *
 *   --mode mayfly  POST /v1/pulls to the agent of this namespace (its local API)
 *   --mode direct  straight from S3 to the file in 8 MiB ranged GETs, as `aws s3 cp` would
 *   --cli BIN      (mayfly mode) run `node BIN get` as its own process, start-up counted
 *   --into cache   (mayfly mode) pull into the agent's cache only; the copy to the file waits for `verify`
 */
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { open, rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { parseS3Url } from '../core/origin-url.ts';
import { localS3Client } from '../local/s3-server.ts';
import { pullToFile, sha256File } from '../local/swarm-pull.ts';
import { agentByteCounters, cliGet } from './cli-pull.ts';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    url: { type: 'string' },
    output: { type: 'string' },
    api: { type: 'string', default: 'http://127.0.0.1:7401' },
    's3-endpoint': { type: 'string' },
    sha256: { type: 'string' },
    cli: { type: 'string' },
    into: { type: 'string', default: 'file' },
  },
});
const { mode, url, output } = values;
if ((mode !== 'mayfly' && mode !== 'direct') || !url || !output) throw new Error('--mode mayfly|direct, --url and --output are required');

const RANGE_BYTES = 8 * 1024 * 1024;
const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);

async function viaAgent(): Promise<object> {
  if (values.cli) {
    await cliGet(values.cli, values.api!, url!, output!);
    return agentByteCounters(values.api!);
  }
  if (values.into === 'cache') {
    // One JSON answer when the object is cached (no progress lines), as a caller that only warms the cache asks.
    const response = await fetch(`${values.api}/v1/pulls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url }) });
    const body = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`agent answered ${response.status}: ${String(body.message)}`);
    return { bytesFromPeers: body.bytesFromPeers, bytesFromOrigin: body.bytesFromOrigin, direct: body.direct };
  }
  // Into the cache, then out to the file as `mayfly get` does (the agent writes nothing outside its data dir).
  const body = (await pullToFile(values.api!, url!, output!)) as unknown as Record<string, unknown>;
  return { bytesFromPeers: body.bytesFromPeers, bytesFromOrigin: body.bytesFromOrigin, direct: body.direct };
}

/**
 * As `aws s3 cp` does it: 8 MiB ranged GETs (one at a time here, so a host opens one flow
 * like its Mayfly agent's origin reads do), each retried on a broken connection.
 */
async function straightFromS3(): Promise<object> {
  if (!values['s3-endpoint']) throw new Error('--s3-endpoint is required for --mode direct');
  const location = parseS3Url(url!);
  const s3 = localS3Client(values['s3-endpoint']);
  const temp = `${output}.part`;
  const file = await open(temp, 'w');
  let retries = 0;
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key }));
    const size = head.ContentLength ?? 0;
    for (let start = 0; start < size; start += RANGE_BYTES) {
      const end = Math.min(size, start + RANGE_BYTES) - 1;
      for (let attempt = 1; ; attempt++) {
        try {
          const answer = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key, Range: `bytes=${start}-${end}`, IfMatch: head.ETag }));
          let position = start;
          for await (const chunk of answer.Body as Readable) {
            await file.write(chunk as Buffer, 0, (chunk as Buffer).length, position);
            position += (chunk as Buffer).length;
          }
          if (position !== end + 1) throw new Error(`range ${start}-${end} ended at ${position}`);
          break;
        } catch (error) {
          if (attempt >= 5) throw error;
          retries++;
        }
      }
    }
    await file.close();
    await rename(temp, output!);
    return { bytesFromPeers: 0, bytesFromOrigin: size, retries };
  } finally {
    await file.close().catch(() => {});
    s3.destroy();
  }
}

/** The agent's own counters (uploads served, refused, redirected), read once every host is done. */
async function agentCounters(): Promise<Record<string, number>> {
  const counters: Record<string, number> = {};
  const text = await fetch(`${values.api}/metrics`).then((r) => r.text(), () => '');
  for (const match of text.matchAll(/^mayfly_agent_([a-z_]+)\{[^}]*\} (\d+(?:\.\d+)?)$/gm)) counters[match[1]] = Number(match[2]);
  return counters;
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
  const counters = mode === 'mayfly' ? await agentCounters() : {};
  if (mode === 'mayfly' && values.into === 'cache') await pullToFile(values.api!, url!, output!);
  if (values.sha256) say({ verified: (await sha256File(output)) === values.sha256, counters });
  else say({ verified: null, counters });
} catch (error) {
  say({ done: true, error: `${(error as Error).message} (after ${((Date.now() - (await go)) / 1000).toFixed(1)} s)` });
} finally {
  await rm(output, { force: true });
  await rm(`${output}.part`, { force: true });
  lines.close();
  process.exit(0);
}
