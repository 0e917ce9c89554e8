import { BadRequestError } from '../../core/errors.ts';
import { isHexId } from '../../core/ids.ts';
import { DEFAULT_API_PORT } from '../config.ts';
import { parseArgs } from './args.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { formatBytes } from './progress-bar.ts';

export const CACHE_HELP = `Usage: mayfly cache <ls | rm TASK_ID | gc> [options]

Looks after the local agent's disk cache.

  ls           cached tasks, newest first, with size and state
  rm TASK_ID   remove one task (refused while a pull uses it)
  gc           evict least recently used tasks until the cache fits its quota

Options:
      --api URL   the local agent's API (default http://127.0.0.1:${DEFAULT_API_PORT}, or MAYFLY_API)
      --json      print JSON
  -h, --help      this help`;

interface CacheListing {
  usedBytes: number;
  quotaBytes: number;
  evicted?: string[];
  tasks?: Array<{ taskId: string; url: string; size: number; completedBytes: number; complete: boolean; inUse: boolean; lastUsedAt: string }>;
}

export async function cacheCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { strings: ['api'], booleans: ['json', 'help'], aliases: { h: 'help' } });
  if (flags.help) {
    process.stdout.write(`${CACHE_HELP}\n`);
    return EXIT.ok;
  }
  const [action, ...rest] = positionals;
  const api = (typeof flags.api === 'string' ? flags.api : env.MAYFLY_API ?? `http://127.0.0.1:${DEFAULT_API_PORT}`).replace(/\/$/, '');
  let request: { method: string; path: string };
  if (action === 'ls' && rest.length === 0) request = { method: 'GET', path: '/v1/cache' };
  else if (action === 'gc' && rest.length === 0) request = { method: 'POST', path: '/v1/cache/gc' };
  else if (action === 'rm' && rest.length === 1 && isHexId(rest[0])) request = { method: 'DELETE', path: `/v1/cache/${rest[0]}` };
  else throw new BadRequestError(action === 'rm' ? 'mayfly cache rm needs one 64-hex task id (see mayfly cache ls)' : 'expected ls, rm TASK_ID or gc');

  let response: Response;
  try {
    response = await fetch(`${api}${request.path}`, { method: request.method });
  } catch (error) {
    process.stderr.write(`mayfly: no agent answering at ${api} (${(error as Error).message})\n`);
    return EXIT.unavailable;
  }
  const body = (await response.json().catch(() => ({}))) as CacheListing & { message?: string; error?: string; removed?: string };
  if (!response.ok) {
    process.stderr.write(`mayfly cache ${action}: ${body.message ?? `agent answered ${response.status}`}\n`);
    return exitCodeFor(body.error);
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return EXIT.ok;
  }
  if (action === 'rm') process.stdout.write(`removed ${body.removed}\n`);
  if (action === 'gc') process.stdout.write(`evicted ${body.evicted?.length ?? 0} task(s)\n`);
  if (body.tasks) {
    process.stdout.write('TASK ID       SIZE       STATE      LAST USED                 URL\n');
    for (const task of body.tasks) {
      const state = task.inUse ? 'in use' : task.complete ? 'complete' : `${Math.floor((100 * task.completedBytes) / Math.max(1, task.size))}%`;
      process.stdout.write(`${task.taskId.slice(0, 12)}  ${formatBytes(task.size).padEnd(9)}  ${state.padEnd(9)}  ${task.lastUsedAt}  ${task.url}\n`);
    }
  }
  process.stdout.write(`cache: ${formatBytes(body.usedBytes)} of ${formatBytes(body.quotaBytes)} quota\n`);
  return EXIT.ok;
}
