/**
 * `bench:swarm --baseline aria2`: the same hosts, network and object as the
 * Mayfly phase, moved by BitTorrent instead: Debian's aria2c on every host, a
 * tracker and an aria2c seed on the origin host (aria2-seed.ts). Each host's
 * time runs from the go signal (aria2c start-up counted) to aria2's
 * "download complete" (every piece checked); origin bytes are counted on the
 * origin's interfaces, as for Mayfly.
 */
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CpuSampler, type CpuSummary } from './cpu-sampler.ts';
import { originTx } from './netns-run.ts';
import { NsProcess } from './ns-process.ts';
import { max, median } from './stats.ts';
import { REPO_ROOT, baseEnv, benchScript, type Artifact } from './swarm-phase.ts';
import type { Topology } from './topology.ts';

export interface Aria2Result {
  readonly label: string;
  readonly hosts: { host: string; seconds: number; verified: boolean; error?: string }[];
  readonly maxSeconds: number;
  readonly medianSeconds: number;
  readonly originLinkBytes: number;
  readonly cpu: CpuSummary;
}

export interface Aria2Options {
  readonly topology: Topology;
  readonly artifact: Artifact;
  readonly runDir: string;
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}

/** Why the baseline cannot run here, or undefined. */
export function aria2Missing(): string | undefined {
  try {
    execFileSync('aria2c', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'aria2c is not installed (apt-get install aria2)';
  }
}

export async function runAria2Phase(options: Aria2Options): Promise<Aria2Result> {
  const { topology, artifact, runDir, log } = options;
  const key = artifact.url.slice(artifact.url.lastIndexOf('/') + 1);
  const dir = join(runDir, 'aria2');
  await mkdir(dir, { recursive: true });
  const processes: NsProcess[] = [];
  try {
    const seed = new NsProcess({
      name: 'aria2 seed',
      ns: topology.origin.ns,
      command: process.execPath,
      args: ['--import', 'tsx', benchScript('aria2-seed.ts'), '--dir', dir, '--size', String(artifact.size), '--key', key, '--host', topology.origin.addresses[0]],
      cwd: REPO_ROOT,
      env: baseEnv(),
      logFile: join(dir, 'seed.log'),
      readyTimeoutMs: 180_000,
    });
    processes.push(seed);
    const torrent = String((await seed.start()).torrent);
    log(`  aria2 seed and tracker on the origin host (${topology.origin.addresses[0]}); starting ${topology.hosts.length} aria2 hosts ...`);
    const hosts = await Promise.all(
      topology.hosts.map(async (host) => {
        const hostDir = join(dir, host.name);
        await mkdir(hostDir, { recursive: true });
        const puller = new NsProcess({
          name: `aria2 ${host.name}`,
          ns: host.ns,
          command: process.execPath,
          args: ['--import', 'tsx', benchScript('aria2-host.ts'), '--torrent', torrent, '--dir', hostDir, '--name', key, '--sha256', artifact.sha256],
          cwd: REPO_ROOT,
          env: baseEnv(),
          logFile: join(hostDir, 'aria2.log'),
          readyTimeoutMs: 120_000,
        });
        processes.push(puller);
        await puller.start();
        return { host, puller };
      }),
    );
    const originBefore = originTx(topology);
    const sampler = new CpuSampler();
    sampler.start();
    const go = Date.now();
    for (const { puller } of hosts) puller.send(`go ${go}`);
    const done = await Promise.all(hosts.map(({ puller }) => puller.waitFor((m) => m.done === true, options.timeoutMs)));
    const cpu = sampler.stop();
    const originLinkBytes = originTx(topology) - originBefore;
    for (const { puller } of hosts) puller.send('verify');
    const results = await Promise.all(
      hosts.map(async ({ host, puller }, index) => {
        const message = done[index];
        const answer = message.error ? undefined : await puller.waitFor((m) => 'verified' in m, 120_000);
        return { host: host.name, seconds: Number(message.seconds ?? Number.NaN), verified: answer?.verified === true, ...(message.error ? { error: String(message.error) } : {}) };
      }),
    );
    const seconds = results.map((result) => result.seconds);
    return { label: 'aria2 + tracker, one site', hosts: results, maxSeconds: max(seconds), medianSeconds: median(seconds), originLinkBytes, cpu };
  } finally {
    await Promise.all(processes.map((process) => process.stop()));
  }
}

/** The baseline's lines, beside Mayfly's: slowest and median host against T_min, origin load against F, CPU. */
export function printAria2(result: Aria2Result, size: number, tMinSeconds: number, log: (line: string) => void): void {
  const failed = result.hosts.filter((host) => !host.verified);
  log(
    `aria2: max ${result.maxSeconds.toFixed(2)} s (${(result.maxSeconds / tMinSeconds).toFixed(2)} × T_min), median ${result.medianSeconds.toFixed(2)} s; ` +
      `origin link sent ${(result.originLinkBytes / size).toFixed(3)} × F; CPU ${(100 * result.cpu.meanBusy).toFixed(0)}% busy, saturated ${(100 * result.cpu.saturatedShare).toFixed(0)}% of the time` +
      (failed.length ? `; ${failed.length} hosts FAILED (${failed.map((host) => host.error ?? `${host.host} sha256`).join('; ')})` : ''),
  );
}
