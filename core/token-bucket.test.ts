import { describe, expect, it } from 'vitest';
import { TokenBucket, parseByteSize } from './token-bucket.ts';

describe('TokenBucket', () => {
  it('lets a burst through, then paces to the rate', () => {
    let now = 0;
    const bucket = new TokenBucket(1000, 500, () => now);
    expect(bucket.take(500)).toBe(0);
    expect(bucket.take(250)).toBeCloseTo(250);
    now = 1000; // a second later 1000 tokens came back, capped at the burst
    expect(bucket.take(100)).toBe(0);
  });

  it('holds the long-run rate whatever the chunk size', () => {
    let now = 0;
    const bucket = new TokenBucket(10_000, 1_000, () => now);
    let sent = 0;
    while (now < 10_000) {
      now += bucket.take(700);
      sent += 700;
    }
    // 10 s at 10 kB/s plus one burst.
    expect(sent).toBeGreaterThan(100_000 * 0.95);
    expect(sent).toBeLessThan(100_000 * 1.05 + 1_000);
  });

  it('rejects non-positive settings', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(RangeError);
  });
});

describe('parseByteSize', () => {
  it('reads bytes, SI and binary units, and bits', () => {
    expect(parseByteSize('1048576')).toBe(1048576);
    expect(parseByteSize('50MiB')).toBe(50 * 1024 * 1024);
    expect(parseByteSize('2.5GB')).toBe(2.5e9);
    expect(parseByteSize('100Mbit/s')).toBe(12_500_000);
  });

  it('refuses what it cannot read', () => {
    for (const bad of ['', 'fast', '-5MB', '10 parsecs', '0']) expect(() => parseByteSize(bad), bad).toThrow(RangeError);
  });
});
