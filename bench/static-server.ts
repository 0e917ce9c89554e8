/**
 * The dataplane benchmark's yardstick: a plain static-file HTTP server
 * (node:http + fs.createReadStream, single Range support), nothing else.
 * Prints a ready line with its port.
 *
 *   node --import tsx bench/static-server.ts FILE
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const file = process.argv[2];
if (!file) throw new Error('usage: static-server.ts FILE');
const size = statSync(file).size;

const server = createServer((req, res) => {
  const match = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  const start = match ? Number(match[1]) : 0;
  const end = match ? Math.min(size - 1, Number(match[2])) : size - 1;
  res.writeHead(match ? 206 : 200, { 'content-type': 'application/octet-stream', 'content-length': end - start + 1 });
  createReadStream(file, { start, end }).pipe(res);
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, port: (server.address() as AddressInfo).port })}\n`);
});
process.once('SIGTERM', () => process.exit(0));
