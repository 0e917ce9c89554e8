/**
 * The .torrent the aria2 baseline of `bench:swarm` shares: bencoding (BEP 3)
 * and a single-file metainfo with SHA-1 piece hashes, so aria2 checks every
 * piece it receives as Mayfly does with its sha256 digests.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';

export type Bencodable = number | string | Buffer | Bencodable[] | { [key: string]: Bencodable };

/** BEP 3 bencoding; dictionary keys in sorted (raw byte) order. */
export function bencode(value: Bencodable): Buffer {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`bencode: ${value} is not an integer`);
    return Buffer.from(`i${value}e`);
  }
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
    return Buffer.concat([Buffer.from(`${bytes.length}:`), bytes]);
  }
  if (Array.isArray(value)) return Buffer.concat([Buffer.from('l'), ...value.map(bencode), Buffer.from('e')]);
  const keys = Object.keys(value).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return Buffer.concat([Buffer.from('d'), ...keys.flatMap((key) => [bencode(key), bencode(value[key])]), Buffer.from('e')]);
}

export interface Torrent {
  /** The .torrent file's bytes. */
  readonly metainfo: Buffer;
  /** SHA-1 of the bencoded info dictionary, as trackers and peers name the torrent. */
  readonly infoHash: Buffer;
}

/** Metainfo for `file` with `pieceLength`-byte pieces, announced to `announce`. */
export async function makeTorrent(file: string, announce: string, pieceLength: number): Promise<Torrent> {
  const hashes: Buffer[] = [];
  let length = 0;
  let piece = createHash('sha1');
  let inPiece = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    let bytes = chunk as Buffer;
    length += bytes.length;
    while (bytes.length > 0) {
      const take = Math.min(bytes.length, pieceLength - inPiece);
      piece.update(bytes.subarray(0, take));
      inPiece += take;
      bytes = bytes.subarray(take);
      if (inPiece === pieceLength) {
        hashes.push(piece.digest());
        piece = createHash('sha1');
        inPiece = 0;
      }
    }
  }
  if (inPiece > 0) hashes.push(piece.digest());
  const info = { length, name: basename(file), 'piece length': pieceLength, pieces: Buffer.concat(hashes) };
  return { metainfo: bencode({ announce, info }), infoHash: createHash('sha1').update(bencode(info)).digest() };
}
