/**
 * The receive path's yardstick for `bench:dataplane`: the irreducible work
 * done by C tools on the same bytes (`curl` from the static server, `tee` to a
 * file on the same filesystem, `sha256sum` of the stream), and Mayfly's own
 * receive path measured the same way (the receiving agent plus the `mayfly
 * get` process that writes the user's file). CPU is user + system seconds from
 * the kernel (getrusage via /usr/bin/time for the commands, /proc for the
 * agent), so the figures hold on a loaded machine; wall time is only for MB/s.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface TimedRun {
  /** User + system CPU seconds of the command and every process it waited for. */
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly stdout: string;
  /** What the command wrote to stderr (without the timing line). */
  readonly stderr: string;
}

/**
 * Runs `argv` under /usr/bin/time and returns its CPU and wall seconds.
 * Throws with the command's stderr when it exits non-zero.
 */
export function timed(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<TimedRun> {
  if (!existsSync('/usr/bin/time')) throw new Error('bench:dataplane needs /usr/bin/time (Debian package "time")');
  const marker = 'MAYFLY_TIMED';
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', `${marker} %U %S %e`, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stderr.split('\n').find((entry) => entry.startsWith(marker));
      if (code !== 0 || !line) return reject(new Error(`${argv.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      const [user, system, wall] = line.slice(marker.length).trim().split(/\s+/).map(Number);
      resolve({ cpuSeconds: user + system, wallSeconds: wall, stdout, stderr: stderr.split('\n').filter((entry) => !entry.startsWith(marker)).join('\n').trim() });
    });
  });
}

/**
 * `curl URL | tee OUTPUT | sha256sum`: what receiving, checking and storing
 * `bytes` costs with no Mayfly in the way. Returns the stream's sha256 too.
 */
export async function curlTeeSha256(url: string, output: string): Promise<TimedRun & { sha256: string }> {
  for (const tool of ['curl', 'tee', 'sha256sum']) {
    if (!['/usr/bin/', '/bin/'].some((dir) => existsSync(dir + tool))) throw new Error(`the baseline pipeline needs ${tool}`);
  }
  const run = await timed(['bash', '-c', 'set -o pipefail; curl -sSf "$1" | tee "$2" | sha256sum', 'baseline', url, output]);
  return { ...run, sha256: run.stdout.trim().split(/\s+/)[0] ?? '' };
}

/** CPU-s per GB and MB/s of a run that moved `bytes`. */
export function perGB(run: { cpuSeconds: number; wallSeconds: number }, bytes: number): { cpuSecondsPerGB: number; MBps: number } {
  return { cpuSecondsPerGB: Math.round((run.cpuSeconds / (bytes / 1e9)) * 100) / 100, MBps: Math.round(bytes / 1e6 / run.wallSeconds) };
}
