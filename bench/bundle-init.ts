import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildBundle, type BundleName } from '../scripts/bundles.ts';

/**
 * `npm run bench:bundles`: each Lambda bundle's size and its module initialisation time,
 * the median of 10 cold imports, each in a fresh `node` process (as a Lambda cold start
 * loads the module once). Measured with and without --enable-source-maps, which the CDK
 * construct sets on the functions.
 */

const RUNS = 10;
const TARGET_BYTES = 1024 * 1024;
const TARGET_INIT_MS = 150;
const LAMBDAS: BundleName[] = ['scheduler', 'manager', 'digest'];

// From just before the import to the handler being ready, inside the child: wall-clock
// time, and CPU time (user + system), which other processes on a busy machine disturb less.
const PROBE = `
const started = performance.now();
const cpu = process.cpuUsage();
const mod = await import(process.argv[1]);
if (typeof mod.handler !== 'function') throw new Error('no handler export');
const used = process.cpuUsage(cpu);
process.stdout.write(JSON.stringify({ wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000 }));
`;

interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
}

function coldImport(file: string, sourceMaps: boolean): Sample {
  const result = spawnSync(process.execPath, [...(sourceMaps ? ['--enable-source-maps'] : []), '--input-type=module', '-e', PROBE, pathToFileURL(file).href], {
    encoding: 'utf8',
    // What the construct sets, minus AWS endpoints: module init makes no network calls.
    env: { PATH: process.env.PATH, MAYFLY_TABLE: 'bench', AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  if (result.status !== 0) throw new Error(`import of ${file} failed:\n${result.stderr}`);
  // The probe's line is the last: the module's own start-up logs (structured JSON) come before it.
  return JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as Sample;
}

function measure(file: string, sourceMaps: boolean): Sample {
  const samples = Array.from({ length: RUNS }, () => coldImport(file, sourceMaps));
  return { wallMs: median(samples.map((s) => s.wallMs)), cpuMs: median(samples.map((s) => s.cpuMs)) };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const outdir = await mkdtemp(join(tmpdir(), 'mayfly-bench-'));
try {
  const rows: string[] = [];
  let failed = false;
  for (const name of LAMBDAS) {
    const built = await buildBundle(name, join(outdir, name));
    const mapBytes = (await stat(`${built.file}.map`)).size;
    coldImport(built.file, false); // warm the file cache, as a Lambda's disk would be
    const plain = measure(built.file, false);
    const mapped = measure(built.file, true);
    const ok = built.bytes <= TARGET_BYTES && mapped.wallMs <= TARGET_INIT_MS;
    failed ||= !ok;
    const ms = (sample: Sample) => `${sample.wallMs.toFixed(0)} ms (cpu ${sample.cpuMs.toFixed(0)} ms)`;
    rows.push(`| ${name} | ${(built.bytes / 1024).toFixed(0)} KiB | ${(mapBytes / 1024).toFixed(0)} KiB | ${ms(plain)} | ${ms(mapped)} | ${ok ? 'yes' : 'NO'} |`);
  }
  const load = loadavg()[0].toFixed(1);
  console.log(`Node ${process.version}, ${cpus().length} cores, load average ${load}, ${new Date().toISOString().slice(0, 10)}; median of ${RUNS} cold imports\n`);
  console.log('| bundle | index.mjs | source map | init | init with --enable-source-maps | within targets (≤ 1 MiB, ≤ 150 ms) |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
  process.exitCode = failed ? 1 : 0;
} finally {
  await rm(outdir, { recursive: true, force: true });
}
