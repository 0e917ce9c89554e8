import { describe, expect, it } from 'vitest';
import { TransferFloor } from './transfer-floor.ts';

const floor = { bytesPerSecond: 1_000, windowMs: 2_000 };

describe('TransferFloor', () => {
  it('never judges before a whole window has passed', () => {
    const watch = new TransferFloor(floor, 0);
    expect(watch.stalled(1_999)).toBe(false);
  });

  it('cuts a child that took nothing for a window', () => {
    const watch = new TransferFloor(floor, 0);
    expect(watch.stalled(2_000)).toBe(true);
  });

  it('cuts a child slower than the floor, and keeps one at the floor', () => {
    const slow = new TransferFloor(floor, 0);
    slow.moved(1_999);
    expect(slow.stalled(2_000)).toBe(true);
    const fine = new TransferFloor(floor, 0);
    fine.moved(2_000);
    expect(fine.stalled(2_000)).toBe(false);
  });

  it('judges each window on its own bytes', () => {
    const watch = new TransferFloor(floor, 0);
    watch.moved(10_000);
    expect(watch.stalled(2_000)).toBe(false);
    expect(watch.stalled(3_999)).toBe(false);
    expect(watch.stalled(4_000)).toBe(true);
  });

  it('excuses time the sender spent waiting on its own limit', () => {
    const watch = new TransferFloor(floor, 0);
    watch.excuse(5_000);
    expect(watch.stalled(6_000)).toBe(false);
    expect(watch.stalled(7_000)).toBe(true);
  });
});
