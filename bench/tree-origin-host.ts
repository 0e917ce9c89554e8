/**
 * The origin host of the tree workload on the shaped topology, run inside the origin's
 * namespace: the local stack's S3-compatible server (local/s3-server.ts) holding one model
 * tree (many small files and a few shards), behind a counting proxy on `--port` for the
 * hosts (S3 GETs and bytes counted at the S3 side), and behind a second one on `--port + 1`
 * for the digest service, which reads over the unshaped in-region link, apart from the
 * site's counts.
 *
 *   node --import tsx bench/tree-origin-host.ts --dir DIR [--port 9000] [--bucket bench]
 *        [--prefix tree-bench/m/] --files N --file-kib K --shards S --shard-mib M
 *
 * Prints one JSON ready line ({ ready, url, objects, treeBytes }); then answers `reset <n>`
 * (zero the counters) and `stats <n>` ({ stats: n, gets, bytesOut }) on stdin.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { uploadArtifact } from '../local/artifact.ts';
import { startCountingProxy } from '../local/counting-proxy.ts';
import { localS3Client, startS3Server } from '../local/s3-server.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    port: { type: 'string', default: '9000' },
    bucket: { type: 'string', default: 'bench' },
    prefix: { type: 'string', default: 'tree-bench/m/' },
    files: { type: 'string', default: '1000' },
    'file-kib': { type: 'string', default: '64' },
    shards: { type: 'string', default: '4' },
    'shard-mib': { type: 'string', default: '64' },
  },
});
if (!values.dir) throw new Error('--dir is required');
const port = Number(values.port);
const [files, fileBytes, shards, shardBytes] = [Number(values.files), Number(values['file-kib']) * 1024, Number(values.shards), Number(values['shard-mib']) * 1024 * 1024];
const { bucket, prefix } = values as { bucket: string; prefix: string };

const server = await startS3Server(values.dir, [bucket]);
// Uploads go over this namespace's loopback, never over the shaped origin link.
const s3 = localS3Client(server.endpoint);
for (let i = 0; i < files; i += 50) {
  await Promise.all(
    Array.from({ length: Math.min(50, files - i) }, (_, j) =>
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}small/${(i + j) % 10}/f-${i + j}.bin`, Body: randomBytes(fileBytes) })),
    ),
  );
}
for (let i = 0; i < shards; i++) await uploadArtifact(s3, bucket, `${prefix}shards/model-${i}.safetensors`, shardBytes);
s3.destroy();
const proxy = await startCountingProxy(server.endpoint, '0.0.0.0', port);
const inRegion = await startCountingProxy(server.endpoint, '0.0.0.0', port + 1);

const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);
say({ ready: true, url: `s3://${bucket}/${prefix}`, objects: files + shards, treeBytes: files * fileBytes + shards * shardBytes });
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.startsWith('reset ')) {
    proxy.reset();
    say({ reset: Number(line.slice('reset '.length)) });
  } else if (line.startsWith('stats ')) {
    say({ stats: Number(line.slice('stats '.length)), gets: proxy.requestsBy('GET', `/${bucket}/${prefix}`), bytesOut: proxy.bytesOut() });
  }
});
const stop = () => void Promise.all([proxy.stop(), inRegion.stop()]).then(() => server.stop()).finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
