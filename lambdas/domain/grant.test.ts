import { describe, expect, it } from 'vitest';
import { holdsLease, leaseFor } from './grant.ts';

describe('back-to-source leases', () => {
  const now = 1_000_000;

  it('grants a lease while fewer than `limit` are live', () => {
    expect(leaseFor({}, 'a', 1, 30_000, now)).toEqual({ a: now + 30_000 });
    expect(leaseFor({ a: now + 5 }, 'b', 2, 30_000, now)).toEqual({ a: now + 5, b: now + 30_000 });
  });

  it('refuses a newcomer when the site is full, but renews a holder', () => {
    expect(leaseFor({ a: now + 5 }, 'b', 1, 30_000, now)).toBeUndefined();
    expect(leaseFor({ a: now + 5 }, 'a', 1, 30_000, now)).toEqual({ a: now + 30_000 });
  });

  it('drops expired leases, so a dead holder frees its place', () => {
    expect(leaseFor({ a: now - 1, b: now }, 'c', 1, 30_000, now)).toEqual({ c: now + 30_000 });
  });

  it('says who holds a live lease', () => {
    expect(holdsLease({ a: now + 1 }, 'a', now)).toBe(true);
    expect(holdsLease({ a: now }, 'a', now)).toBe(false);
    expect(holdsLease({}, 'a', now)).toBe(false);
  });
});
