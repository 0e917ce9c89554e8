import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { ProgressBar, formatBytes } from './progress-bar.ts';

export interface StreamObjectOptions {
  /** The local agent's API base URL. */
  readonly api: string;
  readonly url: string;
  /** An HTTP Range header value (`bytes=…`), or undefined for the whole object. */
  readonly range?: string;
  /** Expected sha256 (hex) of what is streamed. */
  readonly digest?: string;
  /** Absolute path written atomically; undefined streams to stdout. */
  readonly output?: string;
  readonly quiet: boolean;
}

/**
 * `mayfly get -o -` and `mayfly get --range`: streams GET /v1/objects, so bytes
 * flow as the agent verifies their pieces. To stdout nothing but the bytes is
 * written; to a file, a temp file beside it is renamed into place when complete.
 */
export async function streamObject(options: StreamObjectOptions): Promise<number> {
  const { url, output } = options;
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const started = Date.now();
  let response: Response;
  try {
    response = await fetch(`${options.api}/v1/objects?url=${encodeURIComponent(url)}`, { headers: options.range ? { range: options.range } : {} });
  } catch (error) {
    say(`mayfly: no agent answering at ${options.api} (${(error as Error).message}); start one with 'mayfly agent'`);
    return EXIT.unavailable;
  }
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
    say(`mayfly: ${url}: ${body.message ?? `agent answered ${response.status}`}`);
    return response.status === 416 ? EXIT.usage : exitCodeFor(body.error);
  }

  const expected = Number(response.headers.get('content-length') ?? NaN);
  const contentRange = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers.get('content-range') ?? '');
  const hash = options.digest ? createHash('sha256') : undefined;
  const bar = output && process.stderr.isTTY && !options.quiet ? new ProgressBar(process.stderr, basename(output)) : undefined;
  let received = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      hash?.update(chunk);
      bar?.update(received, expected);
      done(null, chunk);
    },
  });
  const temp = output ? join(dirname(output), `.${basename(output)}.mayfly-${randomBytes(4).toString('hex')}.tmp`) : undefined;
  const sink: Writable = temp ? createWriteStream(temp, { flags: 'wx' }) : process.stdout;
  const discard = async () => {
    if (temp) await rm(temp, { force: true });
  };
  try {
    await pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), tap, sink);
  } catch (error) {
    bar?.done();
    await discard();
    const code = (error as NodeJS.ErrnoException).code;
    // The reader had enough (`mayfly get … -o - | head -c 100`): not a failure.
    if (!temp && code === 'EPIPE') return EXIT.ok;
    if (temp && code && /^E[A-Z]+$/.test(code) && code !== 'ECONNRESET') {
      say(`mayfly: cannot write ${output}: ${code === 'ENOSPC' ? 'disk full' : code}`);
      return EXIT.storage;
    }
    say(`mayfly: ${url}: the agent stopped after ${formatBytes(received)} of ${formatBytes(expected)} (${(error as Error).message})`);
    return EXIT.unavailable;
  }
  bar?.done();
  if (Number.isFinite(expected) && received !== expected) {
    await discard();
    say(`mayfly: ${url}: the agent sent ${received} of ${expected} bytes`);
    return EXIT.unavailable;
  }
  if (hash) {
    const actual = hash.digest('hex');
    if (actual !== options.digest) {
      await discard();
      say(`mayfly: ${url}: content sha256 ${actual} does not match --digest sha256:${options.digest}${temp ? '' : ' (stdout already has the bytes)'}`);
      return EXIT.integrity;
    }
  }
  if (temp && output) {
    try {
      await rename(temp, output);
    } catch (error) {
      await discard();
      say(`mayfly: cannot write ${output}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      return EXIT.storage;
    }
  }
  // Stdout stays clean; the summary goes to stderr only where a person reads it.
  if (!options.quiet && (output || process.stderr.isTTY)) {
    const what = contentRange ? `bytes ${contentRange[1]}-${contentRange[2]} of ${formatBytes(Number(contentRange[3]))}` : 'the whole object';
    say(`${output ?? '(stdout)'}: ${formatBytes(received)} (${what}) in ${((Date.now() - started) / 1000).toFixed(2)}s`);
  }
  return EXIT.ok;
}
