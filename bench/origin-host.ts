/**
 * The origin host of the swarm benchmark, run inside its own namespace: an
 * S3-compatible server (s3rver) listening on every address of the namespace,
 * holding one generated artifact. Prints one JSON ready line with the
 * artifact's size and sha256.
 *
 *   node --import tsx bench/origin-host.ts --dir DIR --port 9000 --bucket B --key K --size BYTES
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { artifactSha256, uploadArtifact } from '../local/artifact.ts';
import { localS3Client } from '../local/s3-server.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    port: { type: 'string', default: '9000' },
    bucket: { type: 'string', default: 'bench' },
    key: { type: 'string', default: 'artifact.bin' },
    size: { type: 'string' },
  },
});
if (!values.dir || !values.size) throw new Error('--dir and --size are required');
const size = Number(values.size);
const port = Number(values.port);

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as new (options: object) => { run(): Promise<{ port: number }>; close(): Promise<void> };
const server = new S3rver({ address: '0.0.0.0', port, silent: true, directory: values.dir, configureBuckets: [{ name: values.bucket }] });
await server.run();

// Uploads go over this namespace's loopback, never over the shaped origin link.
const s3 = localS3Client(`http://127.0.0.1:${port}`);
const existing = await s3.send(new HeadObjectCommand({ Bucket: values.bucket, Key: values.key })).catch(() => undefined);
const sha256 = existing?.ContentLength === size
  ? await artifactSha256(size, values.key)
  : (await uploadArtifact(s3, values.bucket, values.key, size)).sha256;
s3.destroy();
process.stdout.write(`${JSON.stringify({ ready: true, port, size, sha256, url: `s3://${values.bucket}/${values.key}` })}\n`);

const stop = () => void server.close().finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
