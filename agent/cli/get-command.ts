import { stat } from 'node:fs/promises';
import { isDigestRef } from '../../core/ids.ts';
import { dirname, resolve } from 'node:path';
import { BadRequestError, StorageError } from '../../core/errors.ts';
import { parseOriginUrl } from '../../core/origin-url.ts';
import { DEFAULT_API_PORT } from '../config.ts';
import { parseArgs } from './args.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { ProgressBar, formatBytes } from './progress-bar.ts';
import { streamObject } from './stream-object.ts';

export const GET_HELP = `Usage: mayfly get s3://BUCKET/KEY|http(s)://HOST/PATH -o FILE|- [options]

Pulls an object through the local agent (from peers, or from S3 when the
scheduler says so) and writes it atomically to FILE, or to stdout with -o -.
An http(s):// URL works the same once the cluster's allowedOrigins admits it.

Options:
  -o, --output FILE|-    where to write the object (required); - streams it to
                         stdout as its pieces are verified (nothing else is
                         written there; stderr stays quiet unless a terminal)
      --range START-END  only these bytes, inclusive as in HTTP (0-1048575,
                         1048576- to the end, -512 the last 512); only the
                         pieces that overlap them are fetched
      --digest sha256:HEX  verify the whole object; on mismatch nothing is written
                         (with -o -, the bytes are out already: exit 5 says so)
      --api URL          the local agent's API (default http://127.0.0.1:${DEFAULT_API_PORT}, or MAYFLY_API)
  -q, --quiet            no progress bar or summary
  -h, --help             this help

Examples:
  mayfly get s3://models/llm.bin -o ./llm.bin --digest sha256:…
  mayfly get s3://models/llm.bin -o - | tar -x
  mayfly get s3://models/llm.bin --range 0-1023 -o header.bin

Exit codes: 0 ok, 2 usage, 3 not found, 4 access denied, 5 integrity failure,
6 unavailable, 7 local storage error, 1 other failure.`;

interface PullLine {
  type: 'progress' | 'result' | 'error';
  size?: number;
  completedBytes?: number;
  bytesFromPeers?: number;
  bytesFromOrigin?: number;
  seconds?: number;
  message?: string;
  error?: string;
  cached?: boolean;
  direct?: boolean;
}

export async function getCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { positionals, flags } = parseArgs(argv, {
    strings: ['output', 'digest', 'api', 'range'],
    booleans: ['quiet', 'help'],
    aliases: { o: 'output', q: 'quiet', h: 'help' },
  });
  if (flags.help) {
    process.stdout.write(`${GET_HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new BadRequestError('expected exactly one s3://BUCKET/KEY or http(s):// URL');
  const url = positionals[0];
  parseOriginUrl(url);
  if (typeof flags.output !== 'string') throw new BadRequestError('-o FILE is required');
  const digest = flags.digest;
  if (digest !== undefined && (typeof digest !== 'string' || !isDigestRef(digest))) {
    throw new BadRequestError('--digest must be sha256:<64 lowercase hex characters>');
  }
  const range = flags.range === undefined ? undefined : parseRangeFlag(flags.range);
  if (range !== undefined && digest !== undefined) throw new BadRequestError('--digest checks the whole object; it cannot be combined with --range');
  const api = (typeof flags.api === 'string' ? flags.api : env.MAYFLY_API ?? `http://127.0.0.1:${DEFAULT_API_PORT}`).replace(/\/$/, '');
  // Stdout and ranges stream from GET /v1/objects; whole files go through the agent's atomic writer.
  if (flags.output === '-' || range !== undefined) {
    const output = flags.output === '-' ? undefined : resolve(flags.output);
    if (output) await assertFolder(output);
    return streamObject({ api, url, range, digest: digest?.slice(7), output, quiet: flags.quiet === true });
  }
  const output = resolve(flags.output);

  let response: Response;
  try {
    response = await fetch(`${api}/v1/pulls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
      body: JSON.stringify({ url, output, ...(digest ? { digest } : {}) }),
    });
  } catch (error) {
    process.stderr.write(`mayfly: no agent answering at ${api} (${(error as Error).message}); start one with 'mayfly agent'\n`);
    return EXIT.unavailable;
  }
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => ({}))) as PullLine;
    process.stderr.write(`mayfly: ${url}: ${body.message ?? `agent answered ${response.status}`}\n`);
    return exitCodeFor(body.error);
  }

  const bar = process.stderr.isTTY && !flags.quiet ? new ProgressBar(process.stderr, url.split('/').pop() ?? url) : undefined;
  let final: PullLine | undefined;
  let buffered = '';
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, newline)) as PullLine;
      buffered = buffered.slice(newline + 1);
      if (line.type === 'progress') bar?.update(line.completedBytes ?? 0, line.size ?? 0);
      else final = line;
    }
  }
  bar?.done();
  if (!final || final.type === 'error') {
    process.stderr.write(`mayfly: ${url}: ${final?.message ?? 'the agent stopped answering'}\n`);
    return final ? exitCodeFor(final.error) : EXIT.unavailable;
  }
  const origin = url.startsWith('s3://') ? 'S3' : 'the origin';
  const source = final.cached ? ' (cache)' : final.direct ? ` (scheduler unreachable: direct from ${origin})` : '';
  process.stderr.write(
    `${output}: ${formatBytes(final.size ?? 0)} in ${(final.seconds ?? 0).toFixed(2)}s, ${formatBytes(final.bytesFromPeers ?? 0)} from peers, ${formatBytes(final.bytesFromOrigin ?? 0)} from ${origin}${source}\n`,
  );
  return EXIT.ok;
}

/** `START-END` (inclusive), `START-` or `-SUFFIX`, checked here so a typo is a usage error. */
export function parseRangeFlag(value: string | boolean): string {
  const match = typeof value === 'string' ? /^(\d*)-(\d*)$/.exec(value.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) throw new BadRequestError('--range must be START-END (inclusive), START- or -SUFFIX, in bytes');
  const [, start, end] = match;
  if (start !== '' && end !== '' && Number(end) < Number(start)) throw new BadRequestError(`--range ${value}: END is before START`);
  if (start === '' && Number(end) === 0) throw new BadRequestError('--range -0 selects no bytes');
  return `bytes=${start}-${end}`;
}

async function assertFolder(output: string): Promise<void> {
  const folder = await stat(dirname(output)).catch(() => undefined);
  if (!folder?.isDirectory()) throw new StorageError(`output folder ${dirname(output)} does not exist`);
}
