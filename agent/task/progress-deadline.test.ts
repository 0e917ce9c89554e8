import { describe, expect, it } from 'vitest';
import { ProgressDeadline } from './progress-deadline.ts';

describe('ProgressDeadline', () => {
  it('waits while pieces keep arriving', () => {
    const deadline = new ProgressDeadline(1_000, 0);
    deadline.progress(900);
    expect(deadline.check(1_800)).toBe('wait');
  });

  it('re-announces after one deadline without progress, then reads the origin half a deadline later', () => {
    const deadline = new ProgressDeadline(1_000, 0);
    expect(deadline.check(999)).toBe('wait');
    expect(deadline.check(1_000)).toBe('reannounce');
    expect(deadline.check(1_200)).toBe('wait');
    expect(deadline.check(1_500)).toBe('origin');
    expect(deadline.fallingBack).toBe(true);
    expect(deadline.check(9_000)).toBe('wait');
  });

  it('starts over when a piece arrives after the re-announce', () => {
    const deadline = new ProgressDeadline(1_000, 0);
    expect(deadline.check(1_000)).toBe('reannounce');
    deadline.progress(1_100);
    expect(deadline.check(1_600)).toBe('wait');
    expect(deadline.check(2_100)).toBe('reannounce');
  });

  it('keeps the fallback through progress until the pull restarts', () => {
    const deadline = new ProgressDeadline(1_000, 0);
    deadline.check(1_000);
    deadline.check(1_500);
    deadline.progress(1_600);
    expect(deadline.fallingBack).toBe(true);
    deadline.restart(2_000);
    expect(deadline.fallingBack).toBe(false);
    expect(deadline.since).toBe(2_000);
  });

  it('does not run while the control plane is failing: a frozen scheduler is not the parents\' fault', () => {
    const deadline = new ProgressDeadline(1_000, 0);
    // Announces failed from 500 to 5_000: the clock is held at every check meanwhile.
    for (let now = 500; now <= 5_000; now += 500) {
      deadline.hold(now);
      expect(deadline.check(now)).toBe('wait');
    }
    expect(deadline.check(5_900)).toBe('wait');
    expect(deadline.check(6_000)).toBe('reannounce');
  });
});
