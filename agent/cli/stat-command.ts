import { BadRequestError } from '../../core/errors.ts';
import { parseUserUrl } from '../../core/origin-url.ts';
import { namingUrlOnce } from './stream-object.ts';
import type { SwarmPeer, SwarmResponse } from '../../core/wire/scheduler.ts';
import { DEFAULT_API_PORT } from '../config.ts';
import { parseArgs } from './args.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { formatBytes } from './progress-bar.ts';

export const STAT_HELP = `Usage: mayfly stat s3://BUCKET/KEY|http(s)://HOST/PATH [options]

Shows the swarm of the object's current version as the scheduler sees it:
every peer's progress, and how many bytes each got from S3 and from peers.
Asking does not join the swarm or download anything.

Options:
      --json             print the agent's JSON answer instead of a table
      --api URL          the local agent's API (default http://127.0.0.1:${DEFAULT_API_PORT}, or MAYFLY_API)
  -h, --help             this help

Exit codes: 0 ok, 2 usage, 3 not found, 4 access denied, 6 unavailable, 1 other failure.`;

export interface StatAnswer extends SwarmResponse {
  /** This agent's cache of the task, if it holds any of it. */
  readonly local: { completedBytes: number; complete: boolean } | null;
}

export async function statCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { strings: ['api'], booleans: ['json', 'help'], aliases: { h: 'help' } });
  if (flags.help) {
    process.stdout.write(`${STAT_HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new BadRequestError('expected exactly one s3://BUCKET/KEY or http(s):// URL');
  const url = positionals[0];
  parseUserUrl(url);
  const api = (typeof flags.api === 'string' ? flags.api : env.MAYFLY_API ?? `http://127.0.0.1:${DEFAULT_API_PORT}`).replace(/\/$/, '');
  let response: Response;
  try {
    response = await fetch(`${api}/v1/stat?url=${encodeURIComponent(url)}`);
  } catch (error) {
    process.stderr.write(`mayfly: no agent answering at ${api} (${(error as Error).message}); start one with 'mayfly agent'\n`);
    return EXIT.unavailable;
  }
  const body = (await response.json().catch(() => ({}))) as StatAnswer & { error?: string; message?: string };
  if (!response.ok) {
    process.stderr.write(`mayfly: ${namingUrlOnce(url, body.message ?? `agent answered ${response.status}`)}\n`);
    return exitCodeFor(body.error);
  }
  process.stdout.write(flags.json ? `${JSON.stringify(body, null, 2)}\n` : renderStat(url, body, Date.now()));
  return EXIT.ok;
}

/** A table a person can read at a glance; the same facts as --json. */
export function renderStat(url: string, answer: StatAnswer, now: number): string {
  const { task, peers } = answer;
  const blocked = new Set(answer.blocked);
  const lines: string[] = [];
  lines.push(url);
  lines.push(`  task   ${task.id}`);
  lines.push(`  size   ${formatBytes(task.size)} in ${task.pieceCount} pieces of ${formatBytes(task.pieceLength)}, ETag ${task.etag}`);
  if (task.digestSource) {
    const source = task.digestSource === 'origin' ? 'computed by the control plane from S3' : 'attested by the back-to-source holder';
    lines.push(`  digests ${source}${task.quarantined ? '; QUARANTINED (manifest being derived again; every host reads the origin)' : ''}`);
  }
  const here = answer.local;
  lines.push(`  here   ${here ? `${formatBytes(here.completedBytes)} cached${here.complete ? ' (complete)' : ''}` : 'not cached on this host'}`);
  lines.push('');
  if (peers.length === 0) {
    lines.push('no peers: nobody is pulling or serving this version right now');
    return `${lines.join('\n')}\n`;
  }
  const rows = [...peers]
    .sort((a, b) => a.site.localeCompare(b.site) || a.peerId.localeCompare(b.peerId))
    .map((peer) => [
      peer.peerId,
      peer.site,
      peer.seed ? 'seed' : 'normal',
      `${task.pieceCount ? Math.floor((100 * peer.completed) / task.pieceCount) : 100}%`,
      formatBytes(peer.bytesFromPeers),
      formatBytes(peer.bytesFromOrigin),
      String(peer.uploads),
      stateOf(peer, blocked),
      ago(now - peer.updatedAt),
    ]);
  const header = ['PEER', 'SITE', 'ROLE', 'PROGRESS', 'FROM PEERS', 'FROM S3', 'UPLOADS', 'STATE', 'SEEN'];
  const right = new Set([3, 4, 5, 6]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const format = (row: string[]) => row.map((cell, column) => (right.has(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))).join('  ').trimEnd();
  lines.push(format(header), ...rows.map(format));
  const fromS3 = peers.reduce((sum, peer) => sum + peer.bytesFromOrigin, 0);
  const fromPeers = peers.reduce((sum, peer) => sum + peer.bytesFromPeers, 0);
  const finished = peers.filter((peer) => peer.finished).length;
  const ratio = task.size > 0 ? ` (${(fromS3 / task.size).toFixed(2)} × the object)` : '';
  lines.push('');
  lines.push(`${peers.length} peer${peers.length === 1 ? '' : 's'}, ${finished} finished; S3 served ${formatBytes(fromS3)}${ratio}, peers served ${formatBytes(fromPeers)}`);
  return `${lines.join('\n')}\n`;
}

function stateOf(peer: SwarmPeer, blocked: ReadonlySet<string>): string {
  if (blocked.has(peer.peerId)) return 'blocked';
  if (peer.failed) return 'failed';
  if (peer.finished) return 'done';
  if (peer.source) return 'reading S3';
  return 'partial';
}

function ago(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`;
  return `${Math.round(seconds / 3600)}h ago`;
}
