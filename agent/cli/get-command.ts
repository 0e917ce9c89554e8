import { stat } from 'node:fs/promises';
import { isDigestRef } from '../../core/ids.ts';
import { dirname, resolve } from 'node:path';
import { BadRequestError, StorageError } from '../../core/errors.ts';
import { parseOriginUrl } from '../../core/origin-url.ts';
import { DEFAULT_API_PORT } from '../config.ts';
import { parseArgs } from './args.ts';
import { EXIT } from './exit-codes.ts';
import { streamObject } from './stream-object.ts';

export const GET_HELP = `Usage: mayfly get s3://BUCKET/KEY|http(s)://HOST/PATH -o FILE|- [options]

Pulls an object through the local agent (from peers, or from S3 when the
scheduler says so) and writes it atomically to FILE, or to stdout with -o -.
The file is written by this process, as you: the agent only hands out bytes
it has checked against the object's piece digests. Ctrl-C cancels the pull.
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
  -r, --recursive        pull every object under s3://BUCKET/PREFIX/ into a folder
                         (mayfly get -r --help)
  -h, --help             this help

Examples:
  mayfly get s3://models/llm.bin -o ./llm.bin --digest sha256:…
  mayfly get s3://models/llm.bin -o - | tar -x
  mayfly get s3://models/llm.bin --range 0-1023 -o header.bin

Exit codes: 0 ok, 2 usage, 3 not found, 4 access denied, 5 integrity failure,
6 unavailable, 7 local storage error, 1 other failure.`;

export async function getCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  // A prefix (`-r`) is its own command: tree-command.ts.
  if (argv.some((arg) => arg === '-r' || arg === '--recursive')) return (await import('./tree-command.ts')).treeCommand(argv, env);
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
  // This process writes the file (the agent only hands out checked bytes), so it is the caller's.
  const output = flags.output === '-' ? undefined : resolve(flags.output);
  if (output) await assertFolder(output);
  return streamObject({ api, url, range, digest: digest?.slice(7), output, quiet: flags.quiet === true });
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
