import { stat } from 'node:fs/promises';
import { isDigestRef } from '../../core/ids.ts';
import { dirname, join, resolve } from 'node:path';
import { BadRequestError, StorageError } from '../../core/errors.ts';
import { describeOrigin, parseUserUrl, type OriginLocation } from '../../core/origin-url.ts';
import { DEFAULT_API_PORT } from '../config.ts';
import { parseArgs } from './args.ts';
import { EXIT } from './exit-codes.ts';
import { streamObject } from './stream-object.ts';

export const GET_HELP = `Usage: mayfly get s3://BUCKET/KEY|http(s)://HOST/PATH [-o FILE|DIR/|-] [options]

Pulls an object through the local agent (from peers, or from S3 when the
scheduler says so) and writes it atomically to FILE, or to stdout with -o -.
The file is written by this process, as you: the agent only hands out bytes
it has checked against the object's piece digests. Ctrl-C cancels the pull.
An http(s):// URL works the same once the cluster's allowedOrigins admits it.

Options:
  -o, --output FILE|DIR/|-  where to write the object: FILE, or inside DIR
                         under the key's base name (default: the current
                         folder); - streams it to stdout as its pieces are
                         verified (nothing else is
                         written there; stderr stays quiet unless a terminal)
      --range START-END  only these bytes, inclusive as in HTTP (0-1048575,
                         1048576- to the end, -512 the last 512); only the
                         pieces that overlap them are fetched
      --digest sha256:HEX  verify the whole object; on mismatch nothing is written
                         (with -o -, the bytes are out already: exit 5 says so)
      --version-id ID    this version of the S3 object (as aws s3 cp --version-id);
                         everything after s3://BUCKET/ is the key, literally
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
    strings: ['output', 'digest', 'api', 'range', 'version-id'],
    booleans: ['quiet', 'help'],
    aliases: { o: 'output', q: 'quiet', h: 'help' },
  });
  if (flags.help) {
    process.stdout.write(`${GET_HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new BadRequestError('expected exactly one s3://BUCKET/KEY or http(s):// URL');
  const url = positionals[0];
  const versionId = typeof flags['version-id'] === 'string' ? flags['version-id'] : undefined;
  if (flags['version-id'] !== undefined && versionId === undefined) throw new BadRequestError('--version-id needs a value');
  const location = parseUserUrl(url, versionId);
  if (flags.output !== undefined && typeof flags.output !== 'string') throw new BadRequestError('-o needs a FILE, a folder or -');
  const digest = flags.digest;
  if (digest !== undefined && (typeof digest !== 'string' || !isDigestRef(digest))) {
    throw new BadRequestError('--digest must be sha256:<64 lowercase hex characters>');
  }
  const range = flags.range === undefined ? undefined : parseRangeFlag(flags.range);
  if (range !== undefined && digest !== undefined) throw new BadRequestError('--digest checks the whole object; it cannot be combined with --range');
  const api = (typeof flags.api === 'string' ? flags.api : env.MAYFLY_API ?? `http://127.0.0.1:${DEFAULT_API_PORT}`).replace(/\/$/, '');
  // This process writes the file (the agent only hands out checked bytes), so it is the caller's.
  const output = flags.output === '-' ? undefined : await outputPath(flags.output, location);
  return streamObject({ api, url, versionId, range, digest: digest?.slice(7), output, quiet: flags.quiet === true });
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

/**
 * Where the object goes, settled before any byte moves: FILE as given; a folder (`DIR/`, or
 * one that exists) gets the object's base name inside it, as does the current folder with no -o.
 */
async function outputPath(given: string | undefined, location: OriginLocation): Promise<string> {
  const target = resolve(given ?? '.');
  const isFolder = given === undefined || /[\\/]$/.test(given) || (await stat(target).catch(() => undefined))?.isDirectory() === true;
  const output = isFolder ? join(target, baseNameOf(location)) : target;
  const folder = await stat(dirname(output)).catch(() => undefined);
  if (!folder?.isDirectory()) throw new StorageError(`output folder ${dirname(output)} does not exist`);
  return output;
}

/** The last segment of the key (or URL path), as `aws s3 cp` and `curl -O` name the file. */
export function baseNameOf(location: OriginLocation): string {
  const path = location.kind === 's3' ? location.key : safeDecode(new URL(location.url).pathname);
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (name === '' || name === '.' || name === '..') {
    const hint = location.kind === 's3' ? 'it ends in "/", a folder: use -r to get the objects under it' : 'give -o FILE';
    throw new BadRequestError(`${describeOrigin(location)} has no file name (${hint})`);
  }
  return name;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
