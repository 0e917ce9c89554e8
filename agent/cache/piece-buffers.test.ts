import { describe, expect, it } from 'vitest';
import { PieceBuffers } from './piece-buffers.ts';

describe('PieceBuffers', () => {
  it('hands back a given buffer for the next take of the same or a shorter length', () => {
    const pool = new PieceBuffers(2);
    const first = pool.take(4096);
    pool.give(first);
    const last = pool.take(1000);
    expect(last.length).toBe(1000);
    expect(last.buffer).toBe(first.buffer);
    expect(pool.size).toBe(0);
  });

  it('allocates when no kept buffer is long enough, and keeps at most its limit', () => {
    const pool = new PieceBuffers(1);
    const small = pool.take(100);
    pool.give(small);
    const big = pool.take(200);
    expect(big.buffer).not.toBe(small.buffer);
    pool.give(big);
    pool.give(pool.take(50));
    expect(pool.size).toBe(1);
  });
});
