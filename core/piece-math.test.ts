import { describe, expect, it } from 'vitest';
import { MAX_PIECE_LENGTH, MIN_PIECE_LENGTH, choosePieceLength, parseByteRange, pieceCountOf, pieceRange, piecesForRange } from './piece-math.ts';

const MiB = 1024 * 1024;

describe('choosePieceLength', () => {
  it('clamps small objects to 4 MiB and huge ones to 64 MiB', () => {
    expect(choosePieceLength(0)).toBe(MIN_PIECE_LENGTH);
    expect(choosePieceLength(256 * MiB)).toBe(4 * MiB);
    expect(choosePieceLength(1024 * 1024 * MiB)).toBe(MAX_PIECE_LENGTH);
  });

  it('picks the power of two nearest size/500', () => {
    // 8 GiB / 500 ≈ 16.4 MiB → 16 MiB; 24 GiB / 500 ≈ 49 MiB → 64 MiB (nearer than 32 in log space)
    expect(choosePieceLength(8 * 1024 * MiB)).toBe(16 * MiB);
    expect(choosePieceLength(24 * 1024 * MiB)).toBe(64 * MiB);
    for (const size of [1, 5e9, 3e10, 7e11]) {
      const length = choosePieceLength(size);
      expect(Math.log2(length) % 1).toBe(0);
    }
  });

  it('rejects negative and fractional sizes', () => {
    expect(() => choosePieceLength(-1)).toThrow(/invalid object size/);
    expect(() => choosePieceLength(1.5)).toThrow(/invalid object size/);
  });
});

describe('piece ranges', () => {
  it('covers the object exactly, with a short last piece', () => {
    const size = 10 * MiB + 3;
    const length = 4 * MiB;
    expect(pieceCountOf(size, length)).toBe(3);
    expect(pieceRange(0, size, length)).toEqual({ start: 0, end: 4 * MiB });
    expect(pieceRange(2, size, length)).toEqual({ start: 8 * MiB, end: size });
    expect(() => pieceRange(3, size, length)).toThrow(/outside/);
    expect(pieceCountOf(0, length)).toBe(0);
  });

  it('finds only the pieces that overlap a byte range', () => {
    const length = 4;
    expect(piecesForRange({ start: 0, end: 1 }, 20, length)).toEqual([0]);
    expect(piecesForRange({ start: 3, end: 5 }, 20, length)).toEqual([0, 1]);
    expect(piecesForRange({ start: 4, end: 8 }, 20, length)).toEqual([1]);
    expect(piecesForRange({ start: 7, end: 20 }, 20, length)).toEqual([1, 2, 3, 4]);
    expect(piecesForRange({ start: 5, end: 5 }, 20, length)).toEqual([]);
    expect(() => piecesForRange({ start: 0, end: 21 }, 20, length)).toThrow(/outside/);
  });
});

describe('parseByteRange', () => {
  it('parses closed, open and suffix ranges', () => {
    expect(parseByteRange('bytes=0-9', 100)).toEqual({ start: 0, end: 10 });
    expect(parseByteRange('bytes=90-', 100)).toEqual({ start: 90, end: 100 });
    expect(parseByteRange('bytes=-10', 100)).toEqual({ start: 90, end: 100 });
    expect(parseByteRange('bytes=95-200', 100)).toEqual({ start: 95, end: 100 });
    expect(parseByteRange(undefined, 100)).toBeUndefined();
  });

  it('rejects malformed and unsatisfiable ranges', () => {
    expect(() => parseByteRange('bytes=a-b', 100)).toThrow(/malformed/);
    expect(() => parseByteRange('bytes=-', 100)).toThrow(/malformed/);
    expect(() => parseByteRange('bytes=100-', 100)).toThrow(/not satisfiable/);
    expect(() => parseByteRange('bytes=9-3', 100)).toThrow(/not satisfiable/);
  });
});
