import { describe, expect, it } from 'vitest';
import { Bitfield } from '../core/bitfield.ts';
import { SpreadTracker } from './spread-tracker.ts';

const task = 'a'.repeat(64);

describe('SpreadTracker', () => {
  it('hides a piece served twice while downloading, for a few seconds', () => {
    const tracker = new SpreadTracker();
    const have = Bitfield.full(4);
    tracker.noteServed(task, 1, 1000);
    expect(tracker.filter(task, have, false, 1000).has(1)).toBe(true);
    tracker.noteServed(task, 1, 1500);
    expect(tracker.filter(task, have, false, 1500).indexes()).toEqual([0, 2, 3]);
    // The original bitfield is untouched, and the piece comes back after the window.
    expect(have.count).toBe(4);
    expect(tracker.filter(task, have, false, 5000).has(1)).toBe(true);
  });

  it('never hides anything once the agent has the whole object', () => {
    const tracker = new SpreadTracker();
    tracker.noteServed(task, 0, 0);
    tracker.noteServed(task, 0, 0);
    expect(tracker.filter(task, Bitfield.full(2), true, 0).count).toBe(2);
  });
});
