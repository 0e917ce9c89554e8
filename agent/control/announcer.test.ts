import { afterEach, describe, expect, it, vi } from 'vitest';
import { UnavailableError } from '../../core/errors.ts';
import { silentLogger } from '../../core/log.ts';
import { Announcer, idleState } from './announcer.ts';
import type { SchedulerClient } from './scheduler-client.ts';

function failingAnnouncer(): { announcer: Announcer; sent: () => number } {
  let sent = 0;
  const client = {
    announce: async () => {
      sent++;
      throw new UnavailableError('scheduler unreachable');
    },
  } as unknown as SchedulerClient;
  const announcer = new Announcer({
    client,
    identity: { peerId: 'p1', cluster: 'c', addr: '127.0.0.1:1', site: 's', seed: false },
    url: 's3://bucket/key',
    taskId: 't'.repeat(64),
    log: silentLogger,
    state: () => idleState(0),
    onAnswer: () => {},
    minGapMs: 0,
  });
  return { announcer, sent: () => sent };
}

describe('Announcer while the scheduler is unreachable', () => {
  afterEach(() => vi.restoreAllMocks());

  it('waits a jittered, growing gap after each failed announce before the next', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { announcer, sent } = failingAnnouncer();
    await announcer.announce('progress').catch(() => {});
    expect(announcer.failingSince).toBeDefined();
    // A starved pull pokes on every loop: the failed announce's gap (0.5 × 1 s here) holds them back.
    announcer.poke();
    announcer.poke();
    await announcer.settled();
    expect(sent()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 600));
    announcer.poke();
    await announcer.settled();
    expect(sent()).toBe(2);
  });
});
