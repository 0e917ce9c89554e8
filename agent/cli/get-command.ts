import { resolve } from 'node:path';
import { BadRequestError } from '../../core/errors.ts';
import { parseS3Url } from '../../core/origin-url.ts';
import { DEFAULT_API_PORT } from '../config.ts';
import { parseArgs } from './args.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { ProgressBar, formatBytes } from './progress-bar.ts';

export const GET_HELP = `Usage: mayfly get s3://BUCKET/KEY -o FILE [options]

Pulls an object through the local agent (from peers, or from S3 when the
scheduler says so) and writes it atomically to FILE.

Options:
  -o, --output FILE      where to write the object (required)
      --digest sha256:HEX  verify the content; on mismatch nothing is written
      --api URL          the local agent's API (default http://127.0.0.1:${DEFAULT_API_PORT}, or MAYFLY_API)
  -q, --quiet            no progress bar
  -h, --help             this help

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
    strings: ['output', 'digest', 'api'],
    booleans: ['quiet', 'help'],
    aliases: { o: 'output', q: 'quiet', h: 'help' },
  });
  if (flags.help) {
    process.stdout.write(`${GET_HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new BadRequestError('expected exactly one s3://BUCKET/KEY URL');
  const url = positionals[0];
  parseS3Url(url);
  if (typeof flags.output !== 'string') throw new BadRequestError('-o FILE is required');
  const digest = flags.digest;
  if (digest !== undefined && (typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest))) {
    throw new BadRequestError('--digest must be sha256:<64 lowercase hex characters>');
  }
  const output = resolve(flags.output);
  const api = (typeof flags.api === 'string' ? flags.api : env.MAYFLY_API ?? `http://127.0.0.1:${DEFAULT_API_PORT}`).replace(/\/$/, '');

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
  const source = final.cached ? ' (cache)' : final.direct ? ' (scheduler unreachable: direct from S3)' : '';
  process.stderr.write(
    `${output}: ${formatBytes(final.size ?? 0)} in ${(final.seconds ?? 0).toFixed(2)}s, ${formatBytes(final.bytesFromPeers ?? 0)} from peers, ${formatBytes(final.bytesFromOrigin ?? 0)} from S3${source}\n`,
  );
  return EXIT.ok;
}
