import { describe, expect, it } from 'vitest';
import { lazyRetrying } from '../shared/lazy-retrying.ts';
import { resolveSchedulerOptions } from './wiring.ts';

const base = { MAYFLY_TABLE: 'mayfly' };

describe('where the scheduler takes its peer secret from', () => {
  it('reads the secret the environment names, and only then', async () => {
    const asked: string[] = [];
    const readSecret = async (id: string) => {
      asked.push(id);
      return `value-of-${id}`;
    };
    const arn = 'arn:aws:secretsmanager:eu-west-1:000000000000:secret:peer-AbCdEf';
    expect((await resolveSchedulerOptions({ ...base, MAYFLY_PEER_SECRET_ARN: arn }, readSecret)).peerSecret).toBe(`value-of-${arn}`);
    // A local stack passes the value itself; nothing is read.
    expect((await resolveSchedulerOptions({ ...base, MAYFLY_PEER_SECRET: 'local', MAYFLY_PEER_SECRET_ARN: arn }, readSecret)).peerSecret).toBe('local');
    expect((await resolveSchedulerOptions(base, readSecret)).peerSecret).toBeUndefined();
    expect(asked).toEqual([arn]);
  });

  it('a failed read surfaces, and the next invocation tries again', async () => {
    let calls = 0;
    const app = lazyRetrying(async () => {
      calls++;
      if (calls === 1) throw new Error('AccessDeniedException');
      return `app-${calls}`;
    });
    await expect(app()).rejects.toThrow('AccessDeniedException');
    expect(await app()).toBe('app-2');
    expect(await app()).toBe('app-2');
    expect(calls).toBe(2);
  });
});
