/**
 * A minimal HTTP BitTorrent tracker (BEP 3 announce, BEP 23 compact peer
 * lists, IPv4) for the aria2 baseline of `bench:swarm`: it hands every peer
 * the others of its torrent, which is all a swarm on one switch needs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bencode } from './torrent-file.ts';

const PEERS_PER_ANSWER = 50;

export class BtTracker {
  private readonly swarms = new Map<string, Map<string, { ip: string; port: number }>>();
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      const answer = this.announce(req.url ?? '', req.socket.remoteAddress ?? '');
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': answer.length });
      res.end(answer);
    });
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve) => this.server.listen(port, host, () => resolve((this.server.address() as AddressInfo).port)));
  }

  close(): void {
    this.server.close();
  }

  /** The bencoded answer to one announce URL from `remote`. */
  announce(url: string, remote: string): Buffer {
    const query = rawQuery(url);
    const infoHash = query.get('info_hash');
    const peerId = query.get('peer_id');
    const port = Number(query.get('port')?.toString('latin1'));
    const ip = remote.replace(/^::ffff:/, '');
    if (!url.startsWith('/announce') || infoHash?.length !== 20 || !peerId || !Number.isInteger(port) || !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) {
      return bencode({ 'failure reason': 'bad announce' });
    }
    const key = infoHash.toString('hex');
    const swarm = this.swarms.get(key) ?? new Map<string, { ip: string; port: number }>();
    this.swarms.set(key, swarm);
    const self = peerId.toString('hex');
    if (query.get('event')?.toString('latin1') === 'stopped') swarm.delete(self);
    else swarm.set(self, { ip, port });
    const others = [...swarm].filter(([id]) => id !== self).map(([, peer]) => peer);
    const peers = Buffer.alloc(Math.min(others.length, PEERS_PER_ANSWER) * 6);
    others.slice(0, PEERS_PER_ANSWER).forEach((peer, index) => {
      peer.ip.split('.').forEach((octet, at) => peers.writeUInt8(Number(octet), index * 6 + at));
      peers.writeUInt16BE(peer.port, index * 6 + 4);
    });
    return bencode({ interval: 30, 'min interval': 5, peers });
  }
}

/** Query parameters as raw bytes: info_hash and peer_id are binary, percent-encoded. */
function rawQuery(url: string): Map<string, Buffer> {
  const params = new Map<string, Buffer>();
  const query = url.slice(url.indexOf('?') + 1);
  for (const pair of query.split('&')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    params.set(pair.slice(0, at), percentDecode(pair.slice(at + 1)));
  }
  return params;
}

function percentDecode(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(text[i] === '+' ? 0x20 : text.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes);
}
