import { describe, expect, it } from 'vitest';
import { Bitfield } from './bitfield.ts';

describe('Bitfield', () => {
  it('sets, clears and counts bits', () => {
    const field = new Bitfield(10);
    field.set(0);
    field.set(9);
    field.set(9);
    expect(field.count).toBe(2);
    expect(field.has(0) && field.has(9)).toBe(true);
    expect(field.has(5)).toBe(false);
    field.clear(0);
    expect(field.count).toBe(1);
    expect(field.indexes()).toEqual([9]);
    expect(field.complete).toBe(false);
    expect(Bitfield.full(10).complete).toBe(true);
  });

  it('round-trips through base64, most significant bit first', () => {
    const field = new Bitfield(12);
    [0, 3, 11].forEach((i) => field.set(i));
    const encoded = field.toBase64();
    expect(Buffer.from(encoded, 'base64')).toEqual(Buffer.from([0b10010000, 0b00010000]));
    const decoded = Bitfield.fromBase64(12, encoded);
    expect(decoded.indexes()).toEqual([0, 3, 11]);
    expect(decoded.count).toBe(3);
  });

  it('tells whether one set holds news for another, and unites them', () => {
    const parent = new Bitfield(20);
    const known = new Bitfield(20);
    [1, 17].forEach((i) => parent.set(i));
    [1, 5].forEach((i) => known.set(i));
    expect(parent.hasAnyNotIn(known)).toBe(true);
    known.set(17);
    expect(parent.hasAnyNotIn(known)).toBe(false);
    expect(new Bitfield(20).hasAnyNotIn(known)).toBe(false);
    expect(parent.union(known).indexes()).toEqual([1, 5, 17]);
    expect(parent.indexes()).toEqual([1, 17]);
    expect(() => parent.hasAnyNotIn(new Bitfield(21))).toThrow(/lengths differ/);
  });

  it('handles large fields', () => {
    const field = new Bitfield(100_000);
    for (let i = 0; i < 100_000; i += 7) field.set(i);
    const decoded = Bitfield.fromBase64(100_000, field.toBase64());
    expect(decoded.count).toBe(field.count);
  });

  it('rejects wrong lengths, stray bits and non-base64', () => {
    expect(() => Bitfield.fromBase64(12, Buffer.from([0xff]).toString('base64'))).toThrow(/expected 2/);
    expect(() => Bitfield.fromBase64(12, Buffer.from([0, 0x01]).toString('base64'))).toThrow(/past its length/);
    expect(() => Bitfield.fromBase64(8, '!!')).toThrow(/not base64/);
    expect(() => new Bitfield(8).set(8)).toThrow(/outside/);
    expect(() => new Bitfield(-1)).toThrow(/invalid/);
  });
});
