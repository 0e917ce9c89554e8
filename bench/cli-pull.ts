/**
 * A bench host's pull as a user makes it: `mayfly get URL -o FILE` started as
 * a process of its own, so its start-up (node, the CLI's modules) and the
 * output write are inside the measured time. The bench's `--realistic`
 * profile uses it; the default profile pulls through the agent's API from the
 * long-running puller (local/swarm-pull.ts).
 */
import { spawn } from 'node:child_process';

/**
 * Runs `node BIN get URL -o OUTPUT --api API -q` and resolves when it exits 0.
 * Rejects with the CLI's exit code and its last stderr lines otherwise.
 */
export function cliGet(bin: string, api: string, url: string, output: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'get', url, '-o', output, '--api', api, '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`mayfly get exited ${code}: ${stderr.trim()}`))));
  });
}

/** The agent's byte counters, from its /metrics: where the CLI's bytes came from. */
export async function agentByteCounters(api: string): Promise<{ bytesFromPeers: number; bytesFromOrigin: number }> {
  const text = await fetch(`${api}/metrics`).then((r) => r.text(), () => '');
  const read = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { bytesFromPeers: read('mayfly_agent_bytes_from_peers_total'), bytesFromOrigin: read('mayfly_agent_bytes_from_origin_total') };
}
