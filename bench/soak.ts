/**
 * `npm run bench:soak` — what one agent costs as its cache grows.
 *
 * A local stack (DynamoDB- and S3-compatible servers, the scheduler behind a
 * counting proxy) and one agent process pull `--pulls` small objects (4 KiB
 * each, `--width` at a time), then sit idle for `--idle` seconds. Every
 * `--every` pulls, and every 10 s while idle, it samples the agent's open
 * descriptors (/proc/PID/fd), resident memory (/proc/PID/status VmRSS) and the
 * scheduler requests per second since the last sample, and prints the table.
 * Flat columns are the point: nothing grows with the number of cached tasks.
 *
 *   npm run bench:soak -- [--pulls 500] [--width 4] [--every 50] [--idle 60] [--json FILE]
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import type { AgentProcess } from '../local/agent-process.ts';
import { LocalStack } from '../local/local-stack.ts';

interface Sample {
  readonly phase: 'pulling' | 'idle';
  readonly seconds: number;
  readonly cachedTasks: number;
  readonly descriptors: number;
  readonly rssMiB: number;
  readonly schedulerRequestsPerSecond: number;
}

const { values } = parseArgs({
  options: {
    pulls: { type: 'string', default: '500' },
    width: { type: 'string', default: '4' },
    every: { type: 'string', default: '50' },
    idle: { type: 'string', default: '60' },
    json: { type: 'string' },
  },
});
const pulls = Number(values.pulls);
const width = Number(values.width);
const every = Number(values.every);
const idleSeconds = Number(values.idle);

async function descriptors(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kib / 1024) * 10) / 10;
}

async function pull(agent: AgentProcess, url: string): Promise<void> {
  const response = await fetch(`${agent.apiUrl}/v1/objects?url=${encodeURIComponent(url)}`);
  const body = await response.arrayBuffer();
  if (!response.ok || body.byteLength !== 4096) throw new Error(`pull of ${url}: ${response.status}, ${body.byteLength} bytes`);
}

const stack = await LocalStack.start();
try {
  const urls: string[] = [];
  for (let i = 0; i < pulls; i += 25) {
    const batch = await Promise.all(Array.from({ length: Math.min(25, pulls - i) }, (_, j) => stack.putArtifact(`soak/small-${i + j}.bin`, 4096, `soak-${i + j}`)));
    urls.push(...batch.map((artifact) => artifact.url));
  }
  const agent = await stack.startAgent('soak');
  const pid = agent.pid!;
  const started = Date.now();
  const samples: Sample[] = [];
  let lastAt = Date.now();
  let lastRequests = stack.schedulerProxy.requests();
  let done = 0;
  const sample = async (phase: Sample['phase']) => {
    const now = Date.now();
    const requests = stack.schedulerProxy.requests();
    const row: Sample = {
      phase,
      seconds: Math.round((now - started) / 1000),
      cachedTasks: done,
      descriptors: await descriptors(pid),
      rssMiB: await rssMiB(pid),
      schedulerRequestsPerSecond: Math.round(((requests - lastRequests) / Math.max(0.001, (now - lastAt) / 1000)) * 100) / 100,
    };
    lastAt = now;
    lastRequests = requests;
    samples.push(row);
    console.log(`${row.phase.padEnd(8)} ${String(row.seconds).padStart(6)} ${String(row.cachedTasks).padStart(7)} ${String(row.descriptors).padStart(12)} ${row.rssMiB.toFixed(1).padStart(8)} ${row.schedulerRequestsPerSecond.toFixed(2).padStart(14)}`);
  };
  console.log(`one agent, ${pulls} pulls of 4 KiB objects, ${width} at a time, then ${idleSeconds} s idle (${cpus().length} cores)`);
  console.log(`phase    second  cached  descriptors  RSS MiB  scheduler req/s`);
  await sample('pulling');
  for (let i = 0; i < urls.length; i += width) {
    await Promise.all(urls.slice(i, i + width).map((url) => pull(agent, url)));
    const before = done;
    done = Math.min(urls.length, i + width);
    if (Math.floor(done / every) > Math.floor(before / every)) await sample('pulling');
  }
  for (let waited = 0; waited < idleSeconds; waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    await sample('idle');
  }
  const idle = samples.filter((row) => row.phase === 'idle');
  const summary = {
    date: new Date().toISOString(),
    cores: cpus().length,
    pulls,
    width,
    heartbeatIntervalMs: stack.heartbeatIntervalMs,
    samples,
    descriptorsMax: Math.max(...samples.map((row) => row.descriptors)),
    rssMiBMax: Math.max(...samples.map((row) => row.rssMiB)),
    idleSchedulerRequestsPerSecond: idle.length ? Math.max(...idle.map((row) => row.schedulerRequestsPerSecond)) : undefined,
  };
  console.log(`max descriptors ${summary.descriptorsMax}, max RSS ${summary.rssMiBMax} MiB, idle scheduler requests/s at most ${summary.idleSchedulerRequestsPerSecond} (heartbeat every ${stack.heartbeatIntervalMs / 1000} s here)`);
  if (values.json) await writeFile(values.json, `${JSON.stringify(summary, null, 2)}\n`);
} finally {
  await stack.stop();
}
