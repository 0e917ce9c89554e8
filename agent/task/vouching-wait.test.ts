import { describe, expect, it } from 'vitest';
import type { ParentInfo } from '../../core/wire/scheduler.ts';
import { VouchingWait } from './vouching-wait.ts';

const parent = (completed: number, source: boolean): ParentInfo => ({ peerId: 'p', addr: 'http://127.0.0.1:1', site: 'default', seed: false, completed, finished: completed === 4, source });

describe('VouchingWait', () => {
  it('holds while digests are pending behind a live source, for at most the patience of one spell', () => {
    const wait = new VouchingWait(4, 1_000);
    wait.observe({ digestCount: 0, backToSource: false, parents: [parent(0, true)] }, 0); // the source is still reading
    expect(wait.holding(500)).toBe(true);
    wait.observe({ digestCount: 1, backToSource: false, parents: [parent(4, true)] }, 900); // the same spell: the clock is not restarted
    expect(wait.holding(999)).toBe(true);
    expect(wait.holding(1_000)).toBe(false);
  });

  it('does not hold without a source among the parents, or once every digest is known', () => {
    const wait = new VouchingWait(4, 1_000);
    wait.observe({ digestCount: 0, backToSource: false, parents: [parent(4, false)] }, 0);
    expect(wait.holding(1)).toBe(false);
    wait.observe({ digestCount: 4, backToSource: false, parents: [parent(4, true)] }, 2);
    expect(wait.holding(3)).toBe(false);
    wait.observe({ digestCount: 2, backToSource: false, parents: [parent(3, true)] }, 4);
    expect(wait.holding(5)).toBe(true);
    wait.observe({ digestCount: 2, backToSource: false, parents: [] }, 6); // the source is gone: a new spell starts with the next one
    expect(wait.holding(7)).toBe(false);
    wait.observe({ digestCount: 2, backToSource: false, parents: [parent(3, true)] }, 2_000);
    expect(wait.holding(2_500)).toBe(true);
  });

  it('holds for the holder itself, whose pieces read from the origin wait for the same digests', () => {
    const wait = new VouchingWait(4, 1_000);
    wait.observe({ digestCount: 0, backToSource: true, parents: [] }, 0);
    expect(wait.holding(10)).toBe(true);
  });
});
