import { describe, expect, it } from 'vitest';
import { ForbiddenError, UnavailableError } from '../../core/errors.ts';
import { silentLogger } from '../../core/log.ts';
import type { AnnounceResponse } from '../../core/wire/scheduler.ts';
import { drawPatience, enterSwarm } from './swarm-entry.ts';

const answer = { parents: [] } as unknown as AnnounceResponse;

describe('enterSwarm', () => {
  it('waits for a slow register in one attempt that may take the whole patience', async () => {
    const timeouts: number[] = [];
    const entered = await enterSwarm({ announce: async (timeoutMs) => (timeouts.push(timeoutMs), answer), log: silentLogger, patienceMs: { min: 8_000, max: 8_000 } });
    expect(entered?.answer).toBe(answer);
    expect(timeouts).toHaveLength(1);
    expect(timeouts[0]).toBeGreaterThan(7_000);
  });

  it('tries a failing register again, and gets in once the scheduler answers', async () => {
    let calls = 0;
    const entered = await enterSwarm({
      announce: async () => {
        if (++calls < 3) throw new UnavailableError('down');
        return answer;
      },
      log: silentLogger,
      patienceMs: { min: 5_000, max: 5_000 },
    });
    expect(entered?.answer).toBe(answer);
    expect(calls).toBe(3);
  });

  it('gives up (undefined: read the origin) once its patience ran out', async () => {
    const started = Date.now();
    const entered = await enterSwarm({ announce: async () => Promise.reject(new UnavailableError('down')), log: silentLogger, patienceMs: { min: 300, max: 300 } });
    expect(entered).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('a 4xx answer is final', async () => {
    await expect(enterSwarm({ announce: async () => Promise.reject(new ForbiddenError('no')), log: silentLogger })).rejects.toThrow(ForbiddenError);
  });

  it('patience is spread over its range, so a fleet does not fall back at once', () => {
    expect(drawPatience({ min: 10, max: 20 }, () => 0)).toBe(10);
    expect(drawPatience({ min: 10, max: 20 }, () => 0.5)).toBe(15);
  });
});
