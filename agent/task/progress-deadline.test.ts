import { describe, expect, it } from 'vitest';
import { MAX_BYTE_EXTENSIONS, ProgressDeadline } from './progress-deadline.ts';

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

  it('counts a piece\'s worth of bytes received as progress, whole pieces or not', () => {
    const deadline = new ProgressDeadline(1_000, 0, 100);
    deadline.received(60, 500); // two slow transfers, 30 bytes each: not a piece yet
    deadline.received(110, 900); // past a piece's worth: progress at 900
    expect(deadline.check(1_500)).toBe('wait');
    expect(deadline.check(1_900)).toBe('reannounce');
  });

  it('is not held by a parent that trickles bytes', () => {
    const deadline = new ProgressDeadline(1_000, 0, 100);
    for (let at = 100; at < 1_000; at += 100) deadline.received(at / 100, at);
    expect(deadline.check(1_000)).toBe('reannounce');
  });

  it('counts bytes lost with a broken transfer once: sent again, they are not a new piece\'s worth', () => {
    const deadline = new ProgressDeadline(1_000, 0, 100);
    deadline.received(100, 400); // progress at 400
    deadline.received(20, 500); // a transfer of 80 bytes broke
    deadline.received(190, 900); // 90 more than the most held: not a piece's worth
    expect(deadline.check(1_399)).toBe('wait');
    expect(deadline.check(1_400)).toBe('reannounce');
  });

  it('is not held by parents that send junk and break each transfer before its end', () => {
    const deadline = new ProgressDeadline(1_000, 0, 100);
    // Every 900 ms a piece's worth arrives, then the transfer breaks and its bytes are gone.
    let reannouncedAt: number | undefined;
    for (let now = 100; now <= 20_000 && reannouncedAt === undefined; now += 100) {
      if (now % 900 === 0) {
        deadline.received(100, now);
        deadline.received(0, now);
      }
      if (deadline.check(now) === 'reannounce') reannouncedAt = now;
    }
    // Before: each piece's worth sent again restarted the clock, and the pull never re-announced.
    expect(reannouncedAt).toBe(900 + 1_000);
  });

  it('lets bytes alone extend the deadline at most MAX_BYTE_EXTENSIONS times before a verified piece', () => {
    const deadline = new ProgressDeadline(1_000, 0, 100);
    // Many slow transfers in flight, a piece's worth more every 900 ms, none ever verified.
    let reannouncedAt: number | undefined;
    for (let now = 100; now <= 20_000 && reannouncedAt === undefined; now += 100) {
      if (now % 900 === 0) deadline.received((now / 900) * 100, now);
      if (deadline.check(now) === 'reannounce') reannouncedAt = now;
    }
    // Before: never (every piece's worth restarted the clock).
    expect(reannouncedAt).toBe(MAX_BYTE_EXTENSIONS * 900 + 1_000);
  });

  it('lets bytes extend the deadline again once a piece is verified', () => {
    const deadline = new ProgressDeadline(1_000, 0, 100);
    for (let extension = 1; extension <= MAX_BYTE_EXTENSIONS; extension++) deadline.received(extension * 100, extension * 900);
    deadline.progress(MAX_BYTE_EXTENSIONS * 900 + 100);
    deadline.received(MAX_BYTE_EXTENSIONS * 100 + 100, 4_000);
    expect(deadline.check(4_999)).toBe('wait');
  });

  it('keeps the time of the last verified piece apart from byte extensions, so a re-announce spares the parent that delivered it', () => {
    const deadline = new ProgressDeadline(1_000, 0, 100);
    deadline.progress(100); // a parent delivers a verified piece
    deadline.received(100, 900); // a piece's worth of unverified bytes extends the deadline
    expect(deadline.since).toBe(900);
    // Before: parents that delivered nothing since `since` (900) were dropped, the one that delivered at 100 too.
    expect(deadline.verifiedSince).toBe(100);
    expect(deadline.check(1_900)).toBe('reannounce');
  });

  it('spends no byte extension while the clock is held for the control plane', () => {
    const deadline = new ProgressDeadline(1_000, 0, 100);
    for (let now = 500; now <= 5_000; now += 500) {
      deadline.received((now / 500) * 100, now); // slow parents keep moving during the outage
      deadline.hold(now); // as the downloader checks: bytes first, then the hold
    }
    // After the outage the bytes still extend the deadline MAX_BYTE_EXTENSIONS times.
    for (let extension = 1; extension <= MAX_BYTE_EXTENSIONS; extension++) deadline.received(1_000 + extension * 100, 5_000 + extension * 900);
    expect(deadline.since).toBe(5_000 + MAX_BYTE_EXTENSIONS * 900);
  });
});
