/**
 * `npm run bench:swarm -- --workload image --loopback [--hosts N] [--size-mib M] [--json FILE]`: N hosts pull
 * a 4-layer image of M MiB at once with skopeo (`copy … dir:`), each through its own agent's
 * registry mirror (a `registries.conf` mirror), from the ECR stand-in (docker-registry on S3,
 * 307 redirects, Basic auth); then the same N hosts pull it straight from the registry at once
 * (the baseline of the same run). Reported: each phase's slowest and fastest host, the bytes
 * the registry's S3 storage served / the image size, and registry requests per host.
 * Runs on loopback with the local stack: no link shaping, so the figures are ratios between
 * the two phases of one run, not link-bound times (see docs/BENCHMARKS.md).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startCountingProxy, type CountingProxy } from '../local/counting-proxy.ts';
import { LocalStack } from '../local/local-stack.ts';
import { EcrStandIn } from '../local/registry/ecr-standin.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const REGISTRY_NAME = 'registry.test';

export interface ImageWorkloadOptions {
  readonly hosts: number;
  readonly sizeMiB: number;
  readonly log: (line: string) => void;
}

export interface ImagePhaseResult {
  readonly phase: 'mayfly' | 'direct';
  readonly seconds: number[];
  readonly maxSeconds: number;
  readonly minSeconds: number;
  /** Bytes the registry's S3 storage served / the image's bytes. */
  readonly originRatio: number;
  readonly registryRequestsPerHost: number;
}

export interface ImageWorkloadReport {
  readonly hosts: number;
  readonly imageBytes: number;
  readonly layers: number;
  readonly load: number[];
  readonly phases: ImagePhaseResult[];
  /** Slowest mayfly host / slowest direct host (below 1: the swarm finished first). */
  readonly maxRatio: number;
}

export async function runImageWorkload(options: ImageWorkloadOptions): Promise<ImageWorkloadReport> {
  const root = await mkdtemp(join(tmpdir(), 'mayfly-bench-image-'));
  let ecr: EcrStandIn | undefined;
  let registry: CountingProxy | undefined;
  let stack: LocalStack | undefined;
  try {
    ecr = await EcrStandIn.start(join(root, 'ecr'), { token: 'bench-token' });
    // Four layers: half, a quarter and two eighths of the image.
    const total = options.sizeMiB * MiB;
    const image = await ecr.pushImage('demo/big', 'v1', [total / 2, total / 4, total / 8, total / 8].map(Math.floor));
    const imageBytes = image.config.size + image.layers.reduce((sum, layer) => sum + layer.size, 0);
    // Registry requests are counted by a proxy every client (agents and direct skopeo) goes through.
    registry = await startCountingProxy(ecr.registryUrl);
    const registryHost = new URL(registry.endpoint).host;
    stack = await LocalStack.start({ root: join(root, 'stack'), schedulerSettings: { allowedOrigins: [`registry+${registry.endpoint}/demo/`, `registry-storage+${ecr.s3.endpoint}/`] } });
    const agents = await Promise.all(
      Array.from({ length: options.hosts }, (_, i) => stack!.startAgent(`host-${i + 1}`, { MAYFLY_REGISTRY_UPSTREAMS: `_default=${registry!.endpoint},${REGISTRY_NAME}=${registry!.endpoint}` })),
    );
    options.log(`image: ${image.layers.length} layers, ${(imageBytes / MiB).toFixed(1)} MiB; ${options.hosts} hosts, skopeo copy per host`);
    const pullAll = async (phase: 'mayfly' | 'direct'): Promise<ImagePhaseResult> => {
      ecr!.s3.reset();
      registry!.reset();
      const seconds = await Promise.all(
        agents.map(async (agent) => {
          const dir = join(root, phase, agent.name);
          await mkdir(dir, { recursive: true });
          const conf = join(dir, 'registries.conf');
          const mirror = new URL(agent.registryUrl).host;
          await writeFile(conf, `unqualified-search-registries = []\n[[registry]]\nprefix = "${REGISTRY_NAME}"\nlocation = "${registryHost}"\ninsecure = true\n[[registry.mirror]]\nlocation = "${mirror}"\ninsecure = true\n`);
          // skopeo sends --src-creds to neither a mirror nor a rewritten location; an auth file names each host.
          const auth = Buffer.from(ecr!.credentials!).toString('base64');
          const authFile = join(dir, 'auth.json');
          await writeFile(authFile, JSON.stringify({ auths: { [REGISTRY_NAME]: { auth }, [registryHost]: { auth }, [mirror]: { auth } } }));
          const source = phase === 'mayfly' ? `docker://${REGISTRY_NAME}/demo/big:v1` : `docker://${registryHost}/demo/big:v1`;
          const started = Date.now();
          await run('skopeo', ['--registries-conf', conf, 'copy', '-q', '--src-tls-verify=false', '--src-authfile', authFile, source, `dir:${join(dir, 'image')}`], { maxBuffer: 16 * MiB });
          return (Date.now() - started) / 1000;
        }),
      );
      const result: ImagePhaseResult = {
        phase,
        seconds,
        maxSeconds: Math.max(...seconds),
        minSeconds: Math.min(...seconds),
        originRatio: ecr!.s3.bytesOut() / imageBytes,
        registryRequestsPerHost: registry!.requests() / options.hosts,
      };
      options.log(`${phase.padEnd(7)} slowest ${result.maxSeconds.toFixed(2)} s, fastest ${result.minSeconds.toFixed(2)} s, registry S3 served ${result.originRatio.toFixed(2)} × the image, ${result.registryRequestsPerHost.toFixed(1)} registry requests per host`);
      return result;
    };
    const mayfly = await pullAll('mayfly');
    const direct = await pullAll('direct');
    return { hosts: options.hosts, imageBytes, layers: image.layers.length, load: loadavg(), phases: [mayfly, direct], maxRatio: mayfly.maxSeconds / direct.maxSeconds };
  } finally {
    await stack?.stop();
    await registry?.stop();
    await ecr?.stop();
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * bench/swarm.ts's hook: runs the workload with its options (on the shaped netns topology,
 * workload-image-netns.ts; `--loopback`: on the local stack), prints the summary, writes --json, exits.
 */
export async function imageWorkloadMain(values: {
  hosts?: string; 'size-mib'?: string; 'image-mib'?: string; json?: string; loopback?: boolean; 'host-mbit'?: string; 'origin-mbit'?: string; mtu?: string;
}): Promise<never> {
  const hosts = Number(values.hosts);
  const sizeMiB = Number(values['image-mib'] ?? values['size-mib']);
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > 32 || !Number.isFinite(sizeMiB) || sizeMiB < 4) {
    console.error('bench:swarm --workload image: --hosts must be 1 to 32 and --size-mib at least 4');
    process.exit(2);
  }
  if (!values.loopback) {
    const { runNetnsImageWorkload } = await import('./workload-image-netns.ts');
    const report = await runNetnsImageWorkload({
      hosts, imageMiB: sizeMiB, hostMbit: Number(values['host-mbit']), originMbit: Number(values['origin-mbit']), mtu: Number(values.mtu ?? 9000), log: (line) => console.log(line),
    });
    console.log(`load average ${report.load.map((l) => l.toFixed(2)).join(' ')}`);
    if (values.json) await writeFile(values.json, JSON.stringify(report, null, 2));
    process.exit(0);
  }
  const report = await runImageWorkload({ hosts, sizeMiB, log: (line) => console.log(line) });
  console.log(`slowest mayfly host / slowest direct host: ${report.maxRatio.toFixed(2)}; load average ${report.load.map((l) => l.toFixed(2)).join(' ')}`);
  if (values.json) await writeFile(values.json, JSON.stringify(report, null, 2));
  process.exit(0);
}
