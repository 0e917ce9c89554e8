import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import { SeedResumer } from './seed-resumer.ts';

const log = createLogger({ sink: () => {}, level: 'error' });
const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('SeedResumer', () => {
  it('announces each queued task once, one at a time', async () => {
    const announced: string[] = [];
    let inFlight = 0;
    let most = 0;
    const resumer = new SeedResumer({
      gapMs: 1,
      log,
      announce: async (taskId) => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight--;
        announced.push(taskId);
      },
    });
    resumer.enqueue(['a', 'b', 'c', 'a']);
    resumer.enqueue(['b', 'd']);
    await until(() => announced.length === 4);
    expect(announced).toEqual(['a', 'b', 'c', 'd']);
    expect(most).toBe(1);
  });

  it('does not announce a task again soon after it tried, even if it failed', async () => {
    const calls: string[] = [];
    const resumer = new SeedResumer({ gapMs: 1, log, announce: async (taskId) => {
      calls.push(taskId);
      throw new Error('refused');
    } });
    resumer.enqueue(['x']);
    await until(() => calls.length === 1 && resumer.pending === 0);
    await new Promise((resolve) => setTimeout(resolve, 10));
    resumer.enqueue(['x', 'y']);
    await until(() => calls.length === 2);
    expect(calls).toEqual(['x', 'y']);
  });

  it('stop() drops what is queued', async () => {
    const calls: string[] = [];
    const resumer = new SeedResumer({ gapMs: 20, log, announce: async (taskId) => void calls.push(taskId) });
    resumer.enqueue(['1', '2', '3']);
    await until(() => calls.length === 1);
    resumer.stop();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(calls).toEqual(['1']);
  });
});
