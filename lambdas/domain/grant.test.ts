import { describe, expect, it } from 'vitest';
import { holdsLease, lapsedInStall, leaseFor, NO_LEASES, type LeaseTable } from './grant.ts';

describe('back-to-source leases', () => {
  const now = 1_000_000;
  const leaseMs = 15_000;
  const table = (holders: Record<string, number>, reserved: Record<string, number> = {}): LeaseTable => ({ holders, reserved });
  const ask = (peerId: string, limit: number, lastHeardAt?: number) => ({ peerId, limit, leaseMs, now, lastHeardAt });

  it('grants a lease while fewer than `limit` are live', () => {
    expect(leaseFor(NO_LEASES, ask('a', 1))).toEqual({ outcome: 'granted', table: table({ a: now + leaseMs }), write: true });
    expect(leaseFor(table({ a: now + 5 }), ask('b', 2)).table).toEqual(table({ a: now + 5, b: now + leaseMs }));
  });

  it('refuses a newcomer when the site is full, but renews a holder', () => {
    expect(leaseFor(table({ a: now + 5 }), ask('b', 1)).outcome).toBe(false);
    expect(leaseFor(table({ a: now + 5 }), ask('a', 1))).toEqual({ outcome: 'renewed', table: table({ a: now + leaseMs }), write: true });
  });

  it('drops a lease that lapsed while the asker was heard and its holder was not: a dead holder frees its place', () => {
    // The holder last renewed at now - 16 s; the asker announced a second ago.
    const decision = leaseFor(table({ a: now - 1_000, b: now }), ask('c', 1, now - 1_000));
    expect(decision).toEqual({ outcome: 'granted', table: table({ c: now + leaseMs }), write: true });
  });

  it('keeps the place of a lease that lapsed in a control-plane stall for its holder, one more lease period', () => {
    // Nobody was heard for 20 s: the asker's last announce came as the holder last renewed.
    const lapsed = table({ a: now - 5_000 });
    const refused = leaseFor(lapsed, ask('b', 1, now - 20_000));
    expect(refused).toEqual({ outcome: false, table: table({ a: now - 5_000 }, { a: now + leaseMs }), write: true });
    // The verdict stands for later askers, however recently they were heard.
    expect(leaseFor(refused.table, { ...ask('c', 1, now + 500), now: now + 1_000 }).outcome).toBe(false);
    expect(holdsLease(refused.table, 'a', now + 1_000)).toBe(true);
    // The holder comes back within that period: a renewal, not a new grant.
    expect(leaseFor(refused.table, { ...ask('a', 1), now: now + 2_000 })).toEqual({ outcome: 'renewed', table: table({ a: now + 2_000 + leaseMs }), write: true });
    // It does not: the place frees itself.
    expect(leaseFor(refused.table, { ...ask('c', 1, now + leaseMs), now: now + leaseMs + 1 }).outcome).toBe('granted');
  });

  it('keeps a lapsed lease for an unknown asker (a newcomer cannot tell a stall from a death)', () => {
    expect(leaseFor(table({ a: now - 1 }), ask('b', 1)).outcome).toBe(false);
  });

  it('renews a lapsed lease its holder asks for when nobody took its place', () => {
    expect(leaseFor(table({ a: now - 30_000 }), ask('a', 1)).outcome).toBe('renewed');
  });

  it('judges a stall from when the asker was last heard against the holder last renewal', () => {
    const until = now - 1_000; // renewed at now - 16 s
    expect(lapsedInStall(until, leaseMs, undefined)).toBe(true);
    expect(lapsedInStall(until, leaseMs, until - leaseMs + 1_000)).toBe(true);
    expect(lapsedInStall(until, leaseMs, until - 2_000)).toBe(false);
  });

  it('says who holds a lease', () => {
    expect(holdsLease(table({ a: now + 1 }), 'a', now)).toBe(true);
    expect(holdsLease(table({ a: now }), 'a', now)).toBe(false);
    expect(holdsLease(table({ a: now - 1 }, { a: now + 1 }), 'a', now)).toBe(true);
    expect(holdsLease(NO_LEASES, 'a', now)).toBe(false);
  });
});
