import { mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BadRequestError, StorageError, UnavailableError, errorFromWire } from '../../core/errors.ts';
import { DEFAULT_API_PORT } from '../config.ts';
import { parseArgs } from './args.ts';
import { EXIT } from './exit-codes.ts';
import { formatBytes } from './progress-bar.ts';
import { ensureTreeFolder } from './tree-folders.ts';
import { pullTreeItem, type ItemOutcome } from './tree-item.ts';
import { pullTreePack } from './tree-pack.ts';
import { planPacks } from '../../core/pack.ts';
import { planTree, type TreeItem } from './tree-plan.ts';
import { TreeProgress } from './tree-progress.ts';
import { TreeState } from './tree-state.ts';

export const TREE_HELP = `Usage: mayfly get s3://BUCKET/PREFIX/ -r -o DIR [options]

Pulls every object under PREFIX through the local agent into DIR, keeping the
folders below PREFIX. The listing comes from the control plane (agents need no
S3 list permission); each object is pinned to the ETag seen in it. Files are
written by this process, each atomically. An interrupted pull resumes: files
already complete with the listed ETag (kept in DIR/.mayfly-tree.json) are kept.

Options:
  -r, --recursive        pull a prefix (required for a tree)
  -o, --output DIR       the folder to write into (created if missing)
      --include GLOB     only paths under PREFIX matching GLOB (* and ?; repeat as a list: a,b)
      --exclude GLOB     skip paths matching GLOB
      --parallel N       objects in flight at once (default 4, at most 64)
      --dry-run          list what would be pulled or kept; write nothing
      --json             print the summary (or the plan) as JSON on stdout
      --api URL          the local agent's API (default http://127.0.0.1:${DEFAULT_API_PORT}, or MAYFLY_API)
  -q, --quiet            no progress view or summary

Keys that would land outside DIR (".." segments, a leading "/") or that the
filesystem cannot hold (names over 255 bytes) are refused before anything is
written: exclude them with --exclude. HTTP(S) origins have no listing: -r is
refused for them.

Exit codes as for one object (0 ok, 2 usage, 3 not found, 4 access denied,
5 integrity failure, 6 unavailable, 7 local storage error); with several
failures, the first one's.`;

/** `mayfly get -r`: see TREE_HELP. */
export async function treeCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { positionals, flags } = parseArgs(argv, {
    strings: ['output', 'api', 'include', 'exclude', 'parallel'],
    booleans: ['recursive', 'quiet', 'help', 'dry-run', 'json'],
    aliases: { o: 'output', q: 'quiet', h: 'help', r: 'recursive' },
  });
  if (flags.help) {
    process.stdout.write(`${TREE_HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new BadRequestError('expected exactly one s3://BUCKET/PREFIX/');
  let url = positionals[0];
  if (/^https?:\/\//i.test(url)) throw new BadRequestError('-r needs an s3:// prefix: HTTP(S) origins have no listing; pull each URL with mayfly get URL -o FILE');
  if (!url.startsWith('s3://')) throw new BadRequestError(`not an S3 prefix: ${JSON.stringify(url.slice(0, 200))}; expected s3://BUCKET/PREFIX/`);
  // `s3://b/models/m` means the folder m, as `aws s3 cp --recursive` reads it.
  if (!url.endsWith('/') && url.slice(5).includes('/')) url = `${url}/`;
  if (typeof flags.output !== 'string') throw new BadRequestError('-o DIR is required');
  const parallel = flags.parallel === undefined ? 4 : Number(flags.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) throw new BadRequestError('--parallel must be an integer from 1 to 64');
  const list = (value: string | boolean | undefined) => (typeof value === 'string' ? value.split(',').filter(Boolean) : []);
  const api = (typeof flags.api === 'string' ? flags.api : env.MAYFLY_API ?? `http://127.0.0.1:${DEFAULT_API_PORT}`).replace(/\/$/, '');
  const dir = resolve(flags.output);
  const json = flags.json === true;
  const quiet = flags.quiet === true;

  const listing = await listPrefix(api, url);
  const plan = planTree(listing.objects, listing.prefix, { include: list(flags.include), exclude: list(flags.exclude), dir });
  if (plan.refused.length > 0) {
    for (const entry of plan.refused.slice(0, 20)) process.stderr.write(`mayfly: refused s3://${listing.bucket}/${entry.key}: ${entry.reason}\n`);
    throw new BadRequestError(`${plan.refused.length} key(s) under ${url} cannot be written under ${dir}; nothing was written (skip them with --exclude)`);
  }
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) throw new StorageError(`${dir} exists and is not a folder`);
  const state = info ? await TreeState.load(dir, url) : undefined;
  const kept = new Set<string>();
  for (const item of plan.items) if (await state?.complete(item.path, item.etag, item.size)) kept.add(item.path);

  if (flags['dry-run']) {
    if (json) process.stdout.write(`${JSON.stringify({ url, dir, items: plan.items.map((item) => ({ key: item.key, path: item.path, size: item.size, etag: item.etag, action: kept.has(item.path) ? 'keep' : 'pull' })) })}\n`);
    else for (const item of plan.items) process.stdout.write(`${kept.has(item.path) ? 'keep' : 'pull'}  ${formatBytes(item.size).padStart(10)}  ${item.path}\n`);
    return EXIT.ok;
  }
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new StorageError(`cannot create ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return pullTree({ api, url, dir, items: plan.items, kept, state: state ?? (await TreeState.load(dir, url)), parallel, json, quiet });
}

/** One unit of a tree pull's work: a pack of small objects, or one object. */
type Work = { readonly pack: readonly TreeItem[] } | { readonly item: TreeItem };

interface TreeRun {
  readonly api: string;
  readonly url: string;
  readonly dir: string;
  readonly items: readonly TreeItem[];
  readonly kept: ReadonlySet<string>;
  readonly state: TreeState;
  readonly parallel: number;
  readonly json: boolean;
  readonly quiet: boolean;
}

async function pullTree(run: TreeRun): Promise<number> {
  const cancel = new AbortController();
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  const onSignal = (signal: NodeJS.Signals) => cancel.abort(signal);
  for (const signal of signals) process.on(signal, onSignal);
  // Each host starts at a random point of the tree, so hosts pulling one tree at once start on
  // different objects and serve them to each other instead of all asking S3 for the first.
  const todo = run.items.filter((item) => !run.kept.has(item.path));
  // Small objects go in packs, one shared task each (core/pack.ts): every host forms the same packs from the same listing.
  const { packs, singles } = planPacks(todo);
  const all: Work[] = [...packs.map((items) => ({ pack: items })), ...singles.map((item) => ({ item }))];
  const offset = Math.floor(Math.random() * all.length);
  const units = [...all.slice(offset), ...all.slice(0, offset)];
  const keptBytes = run.items.filter((item) => run.kept.has(item.path)).reduce((sum, item) => sum + item.size, 0);
  const progress = new TreeProgress(process.stderr.isTTY && !run.quiet && !run.json ? process.stderr : undefined, todo.length, todo.reduce((sum, item) => sum + item.size, 0));
  const failures: { key: string; code: number; message: string }[] = [];
  let changed = 0;
  const started = Date.now();
  let next = 0;
  const bucket = new URL(run.url).host;
  // Packs being pulled, and workers waiting for one: a failed pack hands its members back, to be pulled one by one in parallel.
  let packsRunning = 0;
  const waiting: Array<() => void> = [];
  const worker = async () => {
    while (!cancel.signal.aborted) {
      if (next >= units.length) {
        if (packsRunning === 0) return;
        await new Promise<void>((resolve) => waiting.push(resolve));
        continue;
      }
      const unit = units[next++];
      if ('pack' in unit) {
        packsRunning++;
        const outcome = await pullTreePack({
          api: run.api, bucket, items: unit.pack, target: (item) => join(run.dir, item.path), folder: (item) => ensureTreeFolder(run.dir, dirname(item.path)),
          onBytes: (bytes) => progress.bytes(bytes),
          onFile: async (item) => {
            await run.state.record(item.path, item.etag, item.size);
            progress.fileDone(0, 0);
          },
        }, cancel.signal);
        if (outcome.kind === 'done') progress.fileDone(outcome.bytesFromPeers, outcome.bytesFromOrigin, 0);
        // A pack that cannot be pulled (a member changed since the listing, refused, the scheduler away): its other members go one by one.
        else if (!cancel.signal.aborted) units.push(...unit.pack.slice(outcome.written).map((item) => ({ item })));
        packsRunning--;
        for (const resolve of waiting.splice(0)) resolve();
        continue;
      }
      const item = unit.item;
      // The key as S3 spells it: the local API reads s3:// URLs literally.
      const url = `s3://${new URL(run.url).host}/${item.key}`;
      const target = join(run.dir, item.path);
      let outcome: ItemOutcome;
      try {
        // Folder by folder, never through a link planted in DIR (tree-folders.ts); checked again before the rename.
        const folder = () => ensureTreeFolder(run.dir, dirname(item.path));
        await folder();
        outcome = await pullTreeItem({ api: run.api, url, output: target, listedEtag: item.etag, onBytes: (bytes: number) => progress.bytes(bytes), beforeCommit: folder }, cancel.signal);
      } catch (error) {
        const why = error instanceof StorageError ? error.message : ((error as NodeJS.ErrnoException).code ?? (error as Error).message);
        outcome = { kind: 'failed', code: EXIT.storage, message: `cannot write ${target}: ${why}` };
      }
      if (outcome.kind === 'done') {
        if (outcome.etag !== item.etag) changed++;
        await run.state.record(item.path, outcome.etag, outcome.size);
        progress.fileDone(outcome.bytesFromPeers, outcome.bytesFromOrigin);
      } else if (!cancel.signal.aborted) {
        failures.push({ key: item.key, code: outcome.code, message: outcome.message });
        process.stderr.write(`${progress.clear()}mayfly: s3://${new URL(run.url).host}/${item.key}: ${outcome.message}\n`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(run.parallel, Math.max(1, todo.length)) }, worker));
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
    process.stderr.write(progress.clear());
  }
  if (cancel.signal.aborted) {
    process.stderr.write(`mayfly: ${run.url}: cancelled; ${progress.filesDone} of ${todo.length} files complete (run again to resume)\n`);
    return 128 + (cancel.signal.reason === 'SIGINT' ? 2 : 15);
  }
  const seconds = (Date.now() - started) / 1000;
  const summary = {
    url: run.url, dir: run.dir, files: run.items.length, pulled: progress.filesDone, kept: run.kept.size, failed: failures, changedSinceListing: changed,
    bytes: progress.bytesDone + keptBytes, bytesFromPeers: progress.fromPeers, bytesFromOrigin: progress.fromOrigin, seconds: Number(seconds.toFixed(3)),
  };
  if (run.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else if (!run.quiet) {
    process.stderr.write(
      `${run.dir}: ${summary.files} files, ${formatBytes(summary.bytes)} in ${seconds.toFixed(2)}s (${summary.pulled} pulled, ${summary.kept} kept${failures.length ? `, ${failures.length} failed` : ''}); ` +
        `${formatBytes(summary.bytesFromPeers)} from peers, ${formatBytes(summary.bytesFromOrigin)} from S3\n`,
    );
  }
  return failures[0]?.code ?? EXIT.ok;
}

interface PrefixListing {
  readonly bucket: string;
  readonly prefix: string;
  readonly objects: { key: string; size: number; etag: string; lastModified: string }[];
}

/** The prefix listed afresh by the agent through the control plane (GET /v1/listings). */
async function listPrefix(api: string, url: string): Promise<PrefixListing> {
  let response: Response;
  try {
    response = await fetch(`${api}/v1/listings?url=${encodeURIComponent(url)}`);
  } catch (error) {
    throw new UnavailableError(`no agent answering at ${api} (${(error as Error).message}); start one with 'mayfly agent'`);
  }
  const body = (await response.json().catch(() => ({}))) as PrefixListing & { error?: string; message?: string };
  if (!response.ok) {
    const error = errorFromWire(response.status, body, `agent answered ${response.status}`);
    error.message = `${url}: ${error.message}`;
    throw error;
  }
  return body;
}
