/**
 * `npm run bench:limits`: do the agent's bandwidth limits hold on the wire?
 * One agent serves a cached object with an upload limit; another pulls it with
 * a download limit; each pull's throughput is compared with the limit set.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { LocalStack } from '../local/local-stack.ts';
import { pullThrough, sha256File } from '../local/swarm-pull.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const MiB = 1024 * 1024;
const SIZE = 128 * MiB;

const stack = await LocalStack.start();
try {
  const artifact = await stack.putArtifact('bench/limits.bin', SIZE);
  const rows: string[] = [];
  const measure = async (label: string, limitMiB: number, setup: { server: NodeJS.ProcessEnv; client: NodeJS.ProcessEnv }) => {
    const server = await stack.startAgent(`${label}-server`, setup.server);
    await pullThrough(server, artifact.url, join(stack.root, `${label}-server.bin`));
    const client = await stack.startAgent(`${label}-client`, setup.client);
    const output = join(stack.root, `${label}-client.bin`);
    const started = performance.now();
    const result = await pullThrough(client, artifact.url, output);
    const seconds = (performance.now() - started) / 1000;
    const ok = (await sha256File(output)) === artifact.sha256 && result.bytesFromPeers === SIZE;
    const rate = SIZE / MiB / seconds;
    const error = ((rate - limitMiB) / limitMiB) * 100;
    rows.push(`| ${label} | ${limitMiB} MiB/s | ${rate.toFixed(1)} MiB/s | ${error >= 0 ? '+' : ''}${error.toFixed(1)}% | ${ok ? 'yes' : 'NO'} |`);
    await server.stop();
    await client.stop();
  };
  await measure('upload', 16, { server: { MAYFLY_UPLOAD_LIMIT: '16MiB' }, client: {} });
  await measure('download', 24, { server: {}, client: { MAYFLY_DOWNLOAD_LIMIT: '24MiB' } });
  console.log(`\nBandwidth limits, ${SIZE / MiB} MiB pulled from one peer over loopback; ${cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`);
  console.log('| limit | set | measured | error | bytes correct, all from the peer |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
} finally {
  await stack.stop();
}
