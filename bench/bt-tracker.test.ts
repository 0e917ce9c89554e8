import { describe, expect, it } from 'vitest';
import { BtTracker } from './bt-tracker.ts';

const hash = '%AA'.repeat(20);
const announce = (peer: string, port: number, event = '') => `/announce?info_hash=${hash}&peer_id=${peer.padEnd(20, '-')}&port=${port}&compact=1${event ? `&event=${event}` : ''}`;

describe('BtTracker', () => {
  it('answers each peer with the others of its torrent, compact (BEP 23)', () => {
    const tracker = new BtTracker();
    tracker.announce(announce('a', 6881), '10.0.0.1');
    const answer = tracker.announce(announce('b', 6882), '::ffff:10.0.0.2').toString('latin1');
    expect(answer).toBe(`d8:intervali30e12:min intervali5e5:peers6:${String.fromCharCode(10, 0, 0, 1, 0x1a, 0xe1)}e`);
  });

  it('forgets a stopped peer and refuses a malformed announce', () => {
    const tracker = new BtTracker();
    tracker.announce(announce('a', 6881), '10.0.0.1');
    tracker.announce(announce('a', 6881, 'stopped'), '10.0.0.1');
    expect(tracker.announce(announce('b', 6882), '10.0.0.2').toString('latin1')).toContain('5:peers0:');
    expect(tracker.announce('/announce?info_hash=short&peer_id=x&port=1', '10.0.0.3').toString()).toContain('failure reason');
  });
});
