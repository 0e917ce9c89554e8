import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../core/errors.ts';
import type { PackMember } from '../../core/pack.ts';
import { PieceWriter } from '../cache/piece-writer.ts';
import { readPackPiece, type MemberRead } from './pack-reader.ts';

const bodies = [Buffer.from('abc'), Buffer.from('defgh'), Buffer.from('ij')];
const members: PackMember[] = bodies.map((body, i) => ({ key: `k${i}`, size: body.length, etag: `"e${i}"` }));

/** Serves each member's bytes in 2-byte chunks, recording what was asked. */
function fakeRead(asked: string[], mangle?: (bytes: Buffer, index: number) => Buffer): MemberRead {
  return async (member, index, start, end) => {
    asked.push(`${member.key}:${start}-${end}`);
    const bytes = mangle ? mangle(bodies[index].subarray(start, end), index) : bodies[index].subarray(start, end);
    return (async function* () {
      for (let at = 0; at < bytes.length; at += 2) yield bytes.subarray(at, at + 2);
    })();
  };
}

describe('readPackPiece', () => {
  it('reads the members a piece covers, in order, into the piece', async () => {
    const asked: string[] = [];
    const writer = new PieceWriter(async () => {}, { start: 2, end: 9 }, 'pack');
    await readPackPiece(members, writer, fakeRead(asked));
    expect(asked).toEqual(['k0:2-3', 'k1:0-5', 'k2:0-1']);
    expect(await writer.finish()).toBe(createHash('sha256').update('cdefghi').digest('hex'));
  });

  it('refuses a member answer shorter or longer than asked', async () => {
    const short = new PieceWriter(async () => {}, { start: 0, end: 10 }, 'pack');
    await expect(readPackPiece(members, short, fakeRead([], (bytes, i) => (i === 1 ? bytes.subarray(1) : bytes)))).rejects.toBeInstanceOf(UnavailableError);
    const long = new PieceWriter(async () => {}, { start: 0, end: 3 }, 'pack');
    await expect(readPackPiece(members, long, fakeRead([], (bytes) => Buffer.concat([bytes, Buffer.from('x')])))).rejects.toThrow(/more than/);
  });
});
