/**
 * The aria2 baseline's origin side, run in the origin host's namespace: writes
 * the same bytes S3 holds (local/artifact.ts, seeded by the key), makes the
 * .torrent, runs the tracker and an aria2c seeding the file. Prints a ready
 * line with the torrent's path; SIGTERM stops aria2c and the tracker.
 *
 *   node --import tsx bench/aria2-seed.ts --dir DIR --size BYTES --key KEY --host ADDR
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { artifactStream } from '../local/artifact.ts';
import { aria2Args, TRACKER_PORT } from './aria2-args.ts';
import { BtTracker } from './bt-tracker.ts';
import { makeTorrent } from './torrent-file.ts';

const { values } = parseArgs({ options: { dir: { type: 'string' }, size: { type: 'string' }, key: { type: 'string' }, host: { type: 'string' }, 'piece-kib': { type: 'string', default: '1024' } } });
if (!values.dir || !values.size || !values.key || !values.host) throw new Error('--dir, --size, --key and --host are required');
const seedDir = join(values.dir, 'seed');
await mkdir(seedDir, { recursive: true });
const file = join(seedDir, values.key);
await pipeline(artifactStream(Number(values.size), values.key), createWriteStream(file));
const torrent = await makeTorrent(file, `http://${values.host}:${TRACKER_PORT}/announce`, Number(values['piece-kib']) * 1024);
const torrentPath = join(values.dir, `${values.key}.torrent`);
await writeFile(torrentPath, torrent.metainfo);
const tracker = new BtTracker();
await tracker.listen(TRACKER_PORT, '0.0.0.0');
const seeder = spawn('aria2c', aria2Args(torrentPath, seedDir, ['--check-integrity=true', '--bt-seed-unverified=false']), { stdio: ['ignore', 'inherit', 'inherit'] });
seeder.on('exit', (code) => {
  console.error(`aria2c seeder exited ${code}`);
  process.exit(1);
});
const stop = () => {
  seeder.removeAllListeners('exit');
  seeder.kill('SIGKILL');
  tracker.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
// aria2c checks the whole file before it announces as a seed; the hosts' first announces may come earlier and retry.
process.stdout.write(`${JSON.stringify({ ready: true, torrent: torrentPath, infoHash: torrent.infoHash.toString('hex') })}\n`);
