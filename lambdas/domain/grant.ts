/**
 * Back-to-source leases of one (task, site): peer id → lease end (epoch ms).
 * At most `limit` live leases at once; a holder renews its own.
 */
export type LeaseHolders = Readonly<Record<string, number>>;

/**
 * The holders after `peerId` asks for a lease at `now`, or undefined when the
 * site already has `limit` live leases and none is `peerId`'s. Expired leases
 * are dropped, so a dead holder's place frees itself.
 */
export function leaseFor(holders: LeaseHolders, peerId: string, limit: number, leaseMs: number, now: number): LeaseHolders | undefined {
  const live = Object.entries(holders).filter(([, until]) => until > now);
  const mine = (holders[peerId] ?? 0) > now;
  if (!mine && live.length >= limit) return undefined;
  return { ...Object.fromEntries(live), [peerId]: now + leaseMs };
}

/** Whether `peerId` holds a live lease at `now`. */
export function holdsLease(holders: LeaseHolders, peerId: string, now: number): boolean {
  return (holders[peerId] ?? 0) > now;
}

/** What an acquire did: a new lease, a renewal of a live one, or nothing (false). */
export type LeaseOutcome = 'granted' | 'renewed' | false;

/** Errors: UnavailableError (with retryAfterMs) when the state store throttles or is down. */
export interface SourceGrantStore {
  /**
   * Grants `peerId` a back-to-source lease for (task, site) as leaseFor decides,
   * written only if no other grant landed since the read. Returns `granted` (a new
   * lease), `renewed` (it held one already) or false (not held).
   */
  acquire(taskId: string, site: string, peerId: string, limit: number, leaseMs: number, now: number): Promise<LeaseOutcome>;
  holds(taskId: string, site: string, peerId: string, now: number): Promise<boolean>;
  release(taskId: string, site: string, peerId: string): Promise<void>;
}
