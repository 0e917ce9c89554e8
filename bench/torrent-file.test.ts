import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bencode, makeTorrent } from './torrent-file.ts';

describe('bencode', () => {
  it('encodes integers, strings, lists and dictionaries with sorted keys (BEP 3)', () => {
    expect(bencode(42).toString()).toBe('i42e');
    expect(bencode('spam').toString()).toBe('4:spam');
    expect(bencode(['spam', -3]).toString()).toBe('l4:spami-3ee');
    expect(bencode({ zeta: 1, alpha: 'x' }).toString()).toBe('d5:alpha1:x4:zetai1ee');
  });

  it('refuses a non-integer number', () => {
    expect(() => bencode(1.5)).toThrow(/not an integer/);
  });
});

describe('makeTorrent', () => {
  it('hashes each piece with SHA-1, the last one short', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'torrent-'));
    const file = join(dir, 'a.bin');
    const bytes = Buffer.alloc(2500, 7);
    writeFileSync(file, bytes);
    const torrent = await makeTorrent(file, 'http://10.0.0.1:6969/announce', 1024);
    const pieces = Buffer.concat([0, 1024, 2048].map((start) => createHash('sha1').update(bytes.subarray(start, start + 1024)).digest()));
    const info = { length: 2500, name: 'a.bin', 'piece length': 1024, pieces };
    expect(torrent.metainfo.equals(bencode({ announce: 'http://10.0.0.1:6969/announce', info }))).toBe(true);
    expect(torrent.infoHash.equals(createHash('sha1').update(bencode(info)).digest())).toBe(true);
  });
});
