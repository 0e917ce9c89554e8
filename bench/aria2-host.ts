/**
 * One host of the aria2 baseline, run in its namespace: on `go <epoch ms>` it
 * starts aria2c on the torrent, reports `{done, seconds}` when aria2 says the
 * download is complete (aria2 checked every piece's SHA-1), and keeps seeding;
 * on `verify` it checks the file's sha256. SIGTERM stops aria2c.
 *
 *   node --import tsx bench/aria2-host.ts --torrent FILE --dir DIR --name FILE_NAME --sha256 HEX
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { sha256File } from '../local/swarm-pull.ts';
import { aria2Args } from './aria2-args.ts';

const { values } = parseArgs({ options: { torrent: { type: 'string' }, dir: { type: 'string' }, name: { type: 'string' }, sha256: { type: 'string' } } });
if (!values.torrent || !values.dir || !values.name) throw new Error('--torrent, --dir and --name are required');
const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);
const marker = join(values.dir, 'download-complete');
const hook = join(values.dir, 'on-complete.sh');
await writeFile(hook, `#!/bin/sh\ntouch '${marker}'\n`);
await chmod(hook, 0o755);

let aria2: ChildProcess | undefined;
const stop = () => {
  aria2?.kill('SIGKILL');
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

say({ ready: true });
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const go = /^go (\d+)$/.exec(line.trim());
  if (go) void pull(Number(go[1]));
  if (line.trim() === 'verify') void verify();
});

async function pull(started: number): Promise<void> {
  aria2 = spawn('aria2c', aria2Args(values.torrent!, values.dir!, [`--on-bt-download-complete=${hook}`]), { stdio: ['ignore', 'ignore', 'inherit'] });
  aria2.on('exit', (code) => say({ done: true, error: `aria2c exited ${code} (after ${((Date.now() - started) / 1000).toFixed(1)} s)` }));
  while (!existsSync(marker)) await new Promise((resolve) => setTimeout(resolve, 50));
  say({ done: true, seconds: (Date.now() - started) / 1000 });
}

async function verify(): Promise<void> {
  say({ verified: values.sha256 ? (await sha256File(join(values.dir!, values.name!))) === values.sha256 : null });
}
