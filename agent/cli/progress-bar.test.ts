import { describe, expect, it } from 'vitest';
import { renderProgress, smoothRate, type ProgressState } from './progress-bar.ts';

const MiB = 1024 * 1024;
const running: ProgressState = {
  label: 'a-32-character-long-file-name.gz',
  done: 40 * MiB,
  total: 4096 * MiB,
  rate: 80 * MiB,
  fromPeers: 30 * MiB,
  fromOrigin: 10 * MiB,
  originName: 'S3',
};

describe('renderProgress', () => {
  it('fits every terminal width, never wrapping', () => {
    for (const width of [20, 40, 60, 80, 120, 200]) {
      const line = renderProgress(running, width);
      expect(line.length, `${width}: ${line}`).toBeLessThan(width);
      expect(line).toContain('%');
    }
  });

  it('shows bytes, rate, ETA and peers vs S3 on an 80-column terminal, with the whole 32-character name', () => {
    const line = renderProgress(running, 80);
    expect(line).toContain('a-32-character-long-file-name.gz');
    expect(line).toMatch(/1% 40\.0 MiB\/4\.0 GiB 80\.0 MiB\/s ETA 51s/);
    expect(renderProgress(running, 140)).toContain('peers 30.0 MiB S3 10.0 MiB');
  });

  it('says what it waits for before the first byte', () => {
    expect(renderProgress({ ...running, done: 0, total: undefined }, 80)).toBe('a-32-character-long-file-name.gz: connecting to the scheduler…');
    expect(renderProgress({ ...running, done: 0, waiting: 'waiting for the seed' }, 80)).toContain('waiting for the seed');
  });

  it('handles an empty object and a finished one', () => {
    expect(renderProgress({ ...running, done: 0, total: 0, rate: 0 }, 80)).toContain('100%');
    expect(renderProgress({ ...running, done: running.total! }, 80)).toContain('100%');
  });
});

describe('smoothRate', () => {
  it('does not read one fast burst as the rate of the whole transfer', () => {
    let meter = smoothRate(undefined, 0, 0);
    for (let t = 1000; t <= 10_000; t += 1000) meter = smoothRate(meter, (t / 1000) * 10 * MiB, t);
    expect(meter.rate).toBeCloseTo(10 * MiB, -5);
    // A 64 MiB piece landing at once moves the rate, but not to 64 MiB/s.
    meter = smoothRate(meter, meter.bytes + 64 * MiB, meter.at + 1000);
    expect(meter.rate).toBeLessThan(30 * MiB);
    expect(meter.rate).toBeGreaterThan(10 * MiB);
  });
});
