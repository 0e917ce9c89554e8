import { describe, expect, it } from 'vitest';
import type { ParentInfo } from '../../core/wire/scheduler.ts';
import { VouchingWait } from './vouching-wait.ts';

const parent = (completed: number, source: boolean): ParentInfo => ({ peerId: 'p', addr: 'http://127.0.0.1:1', site: 'default', seed: false, completed, finished: completed === 4, source });

describe('VouchingWait', () => {
  it('holds while a source has pieces the control plane has no digests for yet, for at most the patience', () => {
    const wait = new VouchingWait(1_000);
    wait.observe({ digestCount: 0, parents: [parent(4, true)] }, 0);
    expect(wait.holding(500)).toBe(true);
    wait.observe({ digestCount: 1, parents: [parent(4, true)] }, 900); // the same spell: the clock is not restarted
    expect(wait.holding(1_000)).toBe(false);
  });

  it('does not hold for a parent that is no source, or once the digests caught up', () => {
    const wait = new VouchingWait(1_000);
    wait.observe({ digestCount: 0, parents: [parent(4, false)] }, 0);
    expect(wait.holding(1)).toBe(false);
    wait.observe({ digestCount: 4, parents: [parent(4, true)] }, 2);
    expect(wait.holding(3)).toBe(false);
    wait.observe({ digestCount: 2, parents: [parent(3, true)] }, 4);
    expect(wait.holding(5)).toBe(true);
    wait.observe({ digestCount: 3, parents: [parent(3, true)] }, 6);
    expect(wait.holding(7)).toBe(false);
  });
});
