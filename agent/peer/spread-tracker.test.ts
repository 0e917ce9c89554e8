import { describe, expect, it } from 'vitest';
import { Bitfield } from '../../core/bitfield.ts';
import { ORIGIN_PIECE_REST_MS, SpreadTracker } from './spread-tracker.ts';

const fromPeers = () => false;
const fromOrigin = () => true;

describe('SpreadTracker', () => {
  it('sends a piece to one child at a time and hides it meanwhile', () => {
    const tracker = new SpreadTracker();
    const have = Bitfield.full(4);
    expect(tracker.tryStart(1, false, false, 1000)).toBe(true);
    expect(tracker.tryStart(1, false, false, 1001)).toBe(false);
    expect(tracker.tryStart(2, false, false, 1001)).toBe(true);
    expect(tracker.filter(have, false, fromPeers, 1002).indexes()).toEqual([0, 3]);
    // The original bitfield is untouched.
    expect(have.count).toBe(4);
    tracker.finish(1, 1400);
    // A piece that came from peers is free again as soon as its upload ends.
    expect(tracker.filter(have, false, fromPeers, 1400).indexes()).toEqual([0, 1, 3]);
    expect(tracker.tryStart(1, false, false, 1400)).toBe(true);
  });

  it('lets a piece read from the origin rest after one upload, so the child spreads it', () => {
    const tracker = new SpreadTracker();
    const have = Bitfield.full(3);
    expect(tracker.tryStart(0, false, true, 0)).toBe(true);
    tracker.finish(0, 500);
    expect(tracker.tryStart(0, false, true, 600)).toBe(false);
    expect(tracker.filter(have, false, fromOrigin, 600).has(0)).toBe(false);
    const later = 500 + ORIGIN_PIECE_REST_MS + 1;
    expect(tracker.filter(have, false, fromOrigin, later).has(0)).toBe(true);
    expect(tracker.tryStart(0, false, true, later)).toBe(true);
  });

  it('limits nothing once the agent has the whole object', () => {
    const tracker = new SpreadTracker();
    expect(tracker.tryStart(0, false, true, 0)).toBe(true);
    expect(tracker.tryStart(0, true, true, 0)).toBe(true);
    expect(tracker.tryStart(0, true, true, 0)).toBe(true);
    expect(tracker.filter(Bitfield.full(2), true, fromOrigin, 0).count).toBe(2);
  });
});
