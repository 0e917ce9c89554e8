/**
 * The image bench's origin host, run inside the origin namespace: the ECR stand-in
 * (docker-registry on s3rver, 307 redirects to presigned URLs, Basic auth) listening on the
 * origin's address, with a 4-layer image pushed, and a counting proxy in front of the
 * registry so registry requests are counted. Prints one JSON ready line; then answers
 * `reset <n>` (zero the counters) and `stats <n>` (print them), each answered tagged n on stdin.
 *
 *   node --import tsx bench/registry-origin-host.ts --dir DIR --host 10.77.1.250 --image-mib 256
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startCountingProxy } from '../local/counting-proxy.ts';
import { EcrStandIn } from '../local/registry/ecr-standin.ts';

const MiB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    host: { type: 'string' },
    'image-mib': { type: 'string', default: '256' },
  },
});
if (!values.dir || !values.host) throw new Error('--dir and --host are required');

const ecr = await EcrStandIn.start(values.dir, { token: 'bench-token', host: values.host });
const total = Number(values['image-mib']) * MiB;
// Four layers: half, a quarter and two eighths of the image (pushed over this namespace's own address, not a shaped link).
const image = await ecr.pushImage('demo/big', 'v1', [total / 2, total / 4, total / 8, total / 8].map(Math.floor));
const registry = await startCountingProxy(ecr.registryUrl, values.host);
const imageBytes = image.config.size + image.layers.reduce((sum, layer) => sum + layer.size, 0);
const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);
say({
  ready: true,
  registryUrl: registry.endpoint,
  storageUrl: ecr.s3.endpoint,
  credentials: ecr.credentials,
  imageBytes,
  layers: image.layers.map((layer) => layer.size),
});

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.startsWith('reset ')) {
    ecr.s3.reset();
    registry.reset();
    say({ reset: Number(line.slice('reset '.length)) });
  } else if (line.startsWith('stats ')) {
    say({ stats: Number(line.slice('stats '.length)), storageBytes: ecr.s3.bytesOut(), storageGets: ecr.s3.requestsBy('GET'), registryRequests: registry.requests() });
  }
});

const stop = () => void Promise.all([registry.stop(), ecr.stop()]).finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
