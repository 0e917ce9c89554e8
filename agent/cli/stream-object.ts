import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { getFromAgent, readJsonBody } from './object-request.ts';
import { OutputFile } from './output-file.ts';
import { ProgressBar, formatBytes } from './progress-bar.ts';
import { followPull, type PullLine } from './pull-progress.ts';

export interface StreamObjectOptions {
  /** The local agent's API base URL. */
  readonly api: string;
  readonly url: string;
  /** Pins a version of an s3:// object. */
  readonly versionId?: string;
  /** An HTTP Range header value (`bytes=…`), or undefined for the whole object. */
  readonly range?: string;
  /** Expected sha256 (hex) of what is streamed. */
  readonly digest?: string;
  /** Absolute path written atomically by this process; undefined streams to stdout. */
  readonly output?: string;
  readonly quiet: boolean;
}

/** Whole transfers of one get: a read cut short (say, the object changed meanwhile) starts over, so long as nothing reached stdout. */
const ATTEMPTS = 3;

/**
 * `mayfly get`: streams GET /v1/objects (the agent checks every piece on the
 * way out) to stdout, or into a file this process writes (output-file.ts).
 * For a whole file it also follows the agent's pull (POST /v1/pulls) for the
 * progress bar and the summary. SIGINT/SIGTERM cancel: the temp file is
 * removed and both requests are dropped, which tells the agent to stop the
 * download unless someone else still wants it.
 */
export async function streamObject(options: StreamObjectOptions): Promise<number> {
  const cancel = new AbortController();
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  const onSignal = (signal: NodeJS.Signals) => cancel.abort(signal);
  for (const signal of signals) process.on(signal, onSignal);
  try {
    return await getObject(options, cancel.signal);
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
  }
}

async function getObject(options: StreamObjectOptions, signal: AbortSignal): Promise<number> {
  const { url, output } = options;
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const started = Date.now();
  let file: OutputFile | undefined;
  if (output) {
    try {
      file = await OutputFile.create(output);
    } catch (error) {
      say(`mayfly: cannot write ${output}: ${describeErrno(error)}`);
      return EXIT.storage;
    }
  }
  // On a terminal only (with -o - too: the bytes go to stdout, the bar to stderr); -q draws nothing.
  const bar = process.stderr.isTTY && !options.quiet ? new ProgressBar(process.stderr, output ? basename(output) : '(stdout)', url.startsWith('s3://') ? 'S3' : 'origin') : undefined;
  bar?.update({ done: 0 });
  const following = new AbortController();
  const stopFollowing = () => following.abort();
  signal.addEventListener('abort', stopFollowing, { once: true });
  const pull =
    (output || bar) && !options.range
      ? followPull(options.api, { url, versionId: options.versionId }, (line) => bar?.update(barProgress(line)), following.signal).catch(() => undefined)
      : undefined;
  let committed = false;
  try {
    for (let attempt = 1; ; attempt++) {
      const outcome = await transfer(options, file, signal, pull ? undefined : bar);
      bar?.done();
      if (outcome.kind === 'done') {
        if (file) {
          try {
            await file.commit();
            committed = true;
          } catch (error) {
            say(`mayfly: cannot write ${output}: ${describeErrno(error)}`);
            return EXIT.storage;
          }
        }
        summarize(options, outcome.received, outcome.contentRange, started, pull ? await pull : undefined);
        return EXIT.ok;
      }
      if (outcome.kind === 'cut' && file && attempt < ATTEMPTS && !signal.aborted) {
        await file.reset();
        continue;
      }
      if (signal.aborted) say(`mayfly: ${url}: cancelled`);
      else say(`mayfly: ${namingUrlOnce(url, outcome.message)}`);
      return signal.aborted ? 128 + (signal.reason === 'SIGINT' ? 2 : 15) : outcome.code;
    }
  } finally {
    following.abort();
    signal.removeEventListener('abort', stopFollowing);
    if (!committed) await file?.discard();
  }
}

type Outcome =
  | { kind: 'done'; received: number; contentRange?: RegExpExecArray }
  | { kind: 'failed'; code: number; message: string }
  /** The agent's answer ended early: worth another try while nothing reached stdout. */
  | { kind: 'cut'; code: number; message: string };

async function transfer(options: StreamObjectOptions, file: OutputFile | undefined, signal: AbortSignal, bar?: ProgressBar): Promise<Outcome> {
  let response: IncomingMessage;
  try {
    response = await getFromAgent(`${options.api}/v1/objects?${objectQuery(options)}`, options.range ? { range: options.range } : {}, signal);
  } catch (error) {
    if (signal.aborted) return { kind: 'failed', code: EXIT.failure, message: 'cancelled' };
    return { kind: 'failed', code: EXIT.unavailable, message: `no agent answering at ${options.api} (${(error as Error).message}); start one with 'mayfly agent'` };
  }
  const status = response.statusCode ?? 0;
  if (status < 200 || status > 299) {
    const body = (await readJsonBody(response)) as { error?: string; message?: string };
    return { kind: 'failed', code: status === 416 ? EXIT.usage : exitCodeFor(body.error), message: body.message ?? `agent answered ${status}` };
  }
  const expected = Number(response.headers['content-length'] ?? NaN);
  const contentRange = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers['content-range'] ?? '') ?? undefined;
  const hash = options.digest ? createHash('sha256') : undefined;
  let received = 0;
  let writeFailure: unknown;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      hash?.update(chunk);
      bar?.update({ done: received, total: expected });
      done(null, chunk);
    },
  });
  // Chunks that arrive while a write is on the disk go out together in one writev (a socket read is 64 KiB).
  const sink = file
    ? new Writable({
        highWaterMark: 1024 * 1024,
        writev(chunks: { chunk: Buffer }[], done) {
          file.write(chunks.map((entry) => entry.chunk)).then(() => done(), (error) => done((writeFailure = error)));
        },
      })
    : process.stdout;
  try {
    await pipeline(response, tap, sink, { signal });
  } catch (error) {
    if (writeFailure !== undefined) return { kind: 'failed', code: EXIT.storage, message: `cannot write ${options.output}: ${describeErrno(writeFailure)}` };
    // The reader had enough (`mayfly get … -o - | head -c 100`): not a failure.
    if (!file && (error as NodeJS.ErrnoException).code === 'EPIPE') return { kind: 'done', received, contentRange };
    // Stdout's own disk (`-o - > full-disk/file`): the user's storage, not the agent's.
    if (!file && (error as NodeJS.ErrnoException).syscall === 'write') return { kind: 'failed', code: EXIT.storage, message: `cannot write stdout: ${describeErrno(error)}` };
    return { kind: 'cut', code: EXIT.unavailable, message: `the agent stopped after ${formatBytes(received)} of ${formatBytes(expected)} (${(error as Error).message})` };
  }
  if (Number.isFinite(expected) && received !== expected) return { kind: 'cut', code: EXIT.unavailable, message: `the agent sent ${received} of ${expected} bytes` };
  if (hash) {
    const actual = hash.digest('hex');
    if (actual !== options.digest) {
      return { kind: 'failed', code: EXIT.integrity, message: `content sha256 ${actual} does not match --digest sha256:${options.digest}${file ? '' : ' (stdout already has the bytes)'}` };
    }
  }
  return { kind: 'done', received, contentRange };
}

/** Stdout stays clean; the summary goes to stderr only where a person reads it (or a file was written). */
function summarize(options: StreamObjectOptions, received: number, contentRange: RegExpExecArray | undefined, started: number, pull: PullLine | undefined): void {
  const { output, url } = options;
  if (options.quiet || !(output || process.stderr.isTTY)) return;
  const seconds = ((Date.now() - started) / 1000).toFixed(2);
  if (pull?.type === 'result') {
    const origin = url.startsWith('s3://') ? 'S3' : 'the origin';
    const source = pull.cached ? ' (cache)' : pull.direct ? ` (scheduler unreachable: direct from ${origin})` : '';
    process.stderr.write(`${output ?? '(stdout)'}: ${formatBytes(received)} in ${seconds}s, ${formatBytes(pull.bytesFromPeers ?? 0)} from peers, ${formatBytes(pull.bytesFromOrigin ?? 0)} from ${origin}${source}\n`);
    return;
  }
  const what = contentRange ? `bytes ${contentRange[1]}-${contentRange[2]} of ${formatBytes(Number(contentRange[3]))}` : 'the whole object';
  process.stderr.write(`${output ?? '(stdout)'}: ${formatBytes(received)} (${what}) in ${seconds}s\n`);
}

/** A file-system error as a person reads it ("disk full", "permission denied (EACCES)"). */
export function describeErrno(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${code})`;
  if (code === 'ENOSPC' || code === 'EDQUOT') return `disk full (${code})`;
  if (code === 'ENOENT') return 'no such folder (ENOENT)';
  return code ?? (error as Error).message;
}

/** `url=…[&versionId=…]` of GET /v1/objects. */
function objectQuery(options: StreamObjectOptions): string {
  const query = new URLSearchParams({ url: options.url });
  if (options.versionId) query.set('versionId', options.versionId);
  return query.toString();
}

/** A progress line of the agent's pull, as the bar shows it: bytes within pieces count. */
function barProgress(line: PullLine): { done: number; total?: number; fromPeers?: number; fromOrigin?: number; waiting?: string } {
  return { done: (line.completedBytes ?? 0) + (line.receivingBytes ?? 0), total: line.size, fromPeers: line.bytesFromPeers, fromOrigin: line.bytesFromOrigin, waiting: line.waiting };
}

/** `URL: message`, unless the message names the URL already (the agent's "s3://…: no such object"). */
export function namingUrlOnce(url: string, message: string): string {
  return message.includes(url) ? message : `${url}: ${message}`;
}
