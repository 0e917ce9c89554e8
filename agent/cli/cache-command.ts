import { BadRequestError } from '../../core/errors.ts';
import { canonicalOriginUrl, parseUserUrl } from '../../core/origin-url.ts';
import { DEFAULT_API_PORT } from '../config.ts';
import { parseArgs } from './args.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { formatBytes } from './progress-bar.ts';

export const CACHE_HELP = `Usage: mayfly cache <ls | rm TASK | gc> [options]

Looks after the local agent's disk cache.

  ls           cached tasks, newest first, with size and state
  rm TASK      remove a task: its id, a unique prefix of it (as ls prints), or its URL
               (every cached version); refused while a pull uses it
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
  else if (action === 'rm' && rest.length === 1) return removeTasks(api, rest[0], flags.json === true);
  else throw new BadRequestError(action === 'rm' ? 'mayfly cache rm needs one task id (or a unique prefix of one, as mayfly cache ls prints) or URL' : 'expected ls, rm TASK or gc');

  let response: Response;
  try {
    response = await fetch(`${api}${request.path}`, { method: request.method });
  } catch (error) {
    process.stderr.write(`mayfly: no agent answering at ${api} (${(error as Error).message})\n`);
    return EXIT.unavailable;
  }
  const body = (await response.json().catch(() => ({}))) as CacheListing & { message?: string; error?: string };
  if (!response.ok) {
    process.stderr.write(`mayfly cache ${action}: ${body.message ?? `agent answered ${response.status}`}\n`);
    return exitCodeFor(body.error);
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return EXIT.ok;
  }
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

/** `rm` by id, unique id prefix or URL: resolved against the agent's listing, then one DELETE per task. */
async function removeTasks(api: string, which: string, json: boolean): Promise<number> {
  const listing = await call(api, 'GET', '/v1/cache');
  if (typeof listing === 'number') return listing;
  const tasks = listing.tasks ?? [];
  let chosen: string[];
  if (which.includes('://')) {
    const url = canonicalOriginUrl(parseUserUrl(which));
    chosen = tasks.filter((task) => task.url === url).map((task) => task.taskId);
    if (chosen.length === 0) return notCached(`nothing cached for ${which}`);
  } else {
    if (!/^[0-9a-f]{1,64}$/.test(which)) throw new BadRequestError(`${JSON.stringify(which)} is neither a task id (hex, as mayfly cache ls prints) nor a URL`);
    chosen = tasks.filter((task) => task.taskId.startsWith(which)).map((task) => task.taskId);
    if (chosen.length === 0) return notCached(`no cached task id starts with ${which}`);
    if (chosen.length > 1) throw new BadRequestError(`${which} matches ${chosen.length} cached tasks (${chosen.map((id) => id.slice(0, 16)).join(', ')}); give more of the id`);
  }
  const removed: string[] = [];
  for (const taskId of chosen) {
    const answer = await call(api, 'DELETE', `/v1/cache/${taskId}`);
    if (typeof answer === 'number') return answer;
    removed.push(taskId);
  }
  process.stdout.write(json ? `${JSON.stringify({ removed }, null, 2)}\n` : removed.map((id) => `removed ${id}\n`).join(''));
  return EXIT.ok;
}

function notCached(message: string): number {
  process.stderr.write(`mayfly cache rm: ${message}\n`);
  return EXIT.notFound;
}

/** One local-API call: its JSON body, or the exit code after saying what went wrong. */
async function call(api: string, method: string, path: string): Promise<CacheListing | number> {
  let response: Response;
  try {
    response = await fetch(`${api}${path}`, { method });
  } catch (error) {
    process.stderr.write(`mayfly: no agent answering at ${api} (${(error as Error).message})\n`);
    return EXIT.unavailable;
  }
  const body = (await response.json().catch(() => ({}))) as CacheListing & { message?: string; error?: string };
  if (response.ok) return body;
  process.stderr.write(`mayfly cache: ${body.message ?? `agent answered ${response.status}`}\n`);
  return exitCodeFor(body.error);
}
