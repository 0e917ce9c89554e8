import { describe, expect, it } from 'vitest';
import { outageAllowance, PacedReads } from './outage-pace.ts';

const pace = { holdMs: 15_000, doublingMs: 5_000 };

describe('outageAllowance', () => {
  it('allows one piece at once and the same one piece through the hold', () => {
    expect(outageAllowance(0, pace)).toBe(1);
    expect(outageAllowance(14_999, pace)).toBe(1);
    expect(outageAllowance(15_000, pace)).toBe(1);
  });

  it('doubles every doubling period after the hold', () => {
    expect(outageAllowance(20_000, pace)).toBe(2);
    expect(outageAllowance(25_000, pace)).toBe(4);
    expect(outageAllowance(35_000, pace)).toBe(16);
    expect(outageAllowance(55_000, pace)).toBe(256);
  });

  it('treats a clock that went backwards as no time', () => {
    expect(outageAllowance(-5_000, pace)).toBe(1);
  });
});

describe('PacedReads', () => {
  it('reads one piece at a time within the allowance', () => {
    const reads = new PacedReads(1_000, pace);
    expect(reads.mayStart(1_000, 0)).toBe(true);
    reads.count();
    // The one piece is read; no second one before the hold ends, even with nothing in flight.
    expect(reads.mayStart(10_000, 0)).toBe(false);
    expect(reads.mayStart(21_000, 0)).toBe(true);
    expect(reads.mayStart(21_000, 1)).toBe(false);
    reads.count();
    expect(reads.mayStart(21_000, 0)).toBe(false);
  });
});
