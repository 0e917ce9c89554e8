/**
 * Back-to-source leases of one (task, site): peer id → lease end (epoch ms).
 * At most `limit` live leases at once; a holder renews its own.
 */
export type LeaseHolders = Readonly<Record<string, number>>;

/**
 * The leases of one (task, site) as stored: the holders, and for a holder whose
 * lease lapsed while the control plane was stalled, until when its place is kept
 * for it (epoch ms; see leaseFor).
 */
export interface LeaseTable {
  readonly holders: LeaseHolders;
  readonly reserved: LeaseHolders;
}

export const NO_LEASES: LeaseTable = { holders: {}, reserved: {} };

/** One agent asking for (or renewing) a lease. */
export interface LeaseAsk {
  readonly peerId: string;
  /**
   * When the scheduler last heard this agent announce the task before this announce
   * (its peer record's updatedAt, epoch ms); undefined when unknown (a newcomer, or
   * not in the sample).
   */
  readonly lastHeardAt?: number;
  readonly limit: number;
  readonly leaseMs: number;
  readonly now: number;
}

/** What an acquire did: a new lease, a renewal of a live one, or nothing (false). */
export type LeaseOutcome = 'granted' | 'renewed' | false;

/**
 * Whether a lease that ended at `until` lapsed because the control plane heard no
 * one (it was frozen, slow or down: the holder could not renew) rather than
 * because its holder went quiet. The holder last renewed about `until - leaseMs`;
 * if the scheduler heard the asker well after that (half a lease later) and not the
 * holder, the holder is gone. If the asker, too, was last heard around the holder's
 * last renewal (or is unknown), nobody got through: a stall.
 */
export function lapsedInStall(until: number, leaseMs: number, lastHeardAt: number | undefined): boolean {
  return lastHeardAt === undefined || lastHeardAt < until - leaseMs / 2;
}

/** What an ask did, and the table to write (`write` false: nothing changed worth a write). */
export interface LeaseDecision {
  readonly outcome: LeaseOutcome;
  readonly table: LeaseTable;
  readonly write: boolean;
}

/**
 * What happens when `ask.peerId` asks for a lease at `now`: a grant or renewal, or
 * false when the site already has `limit` leases held by others. A lapsed lease
 * frees its place (a dead holder loses it), except one that lapsed in a stall
 * (lapsedInStall, judged once, at the first other asker after the lapse, and the
 * verdict written even when that asker is refused): its place is kept for its holder
 * for one more lease period, so the first announcers after a control-plane stall do
 * not take the origin from a source still reading it. The holder renewing a lease
 * still listed for it (live, kept, or lapsed with nobody taking its place) is a renewal.
 */
export function leaseFor(table: LeaseTable, ask: LeaseAsk): LeaseDecision {
  const { peerId, now, leaseMs } = ask;
  const holders: Record<string, number> = {};
  const reserved: Record<string, number> = {};
  let judged = false;
  for (const [id, until] of Object.entries(table.holders)) {
    if (id === peerId) continue;
    if (until > now) {
      holders[id] = until;
      continue;
    }
    const earlier = table.reserved[id];
    const keptUntil = earlier ?? (lapsedInStall(until, leaseMs, ask.lastHeardAt) ? now + leaseMs : undefined);
    if (earlier === undefined && keptUntil !== undefined) judged = true;
    if (keptUntil !== undefined && keptUntil > now) {
      holders[id] = until;
      reserved[id] = keptUntil;
    }
  }
  if (Object.keys(holders).length >= ask.limit) {
    // Refused; a new stall verdict is still written, so later askers honour it.
    const mine = table.holders[peerId];
    const kept = mine === undefined ? holders : { ...holders, [peerId]: mine };
    return { outcome: false, table: { holders: kept, reserved }, write: judged };
  }
  const outcome = table.holders[peerId] !== undefined ? 'renewed' : 'granted';
  return { outcome, table: { holders: { ...holders, [peerId]: now + leaseMs }, reserved }, write: true };
}

/** Whether `peerId` holds a lease at `now`: a live one, or a lapsed one kept for it. */
export function holdsLease(table: LeaseTable, peerId: string, now: number): boolean {
  return (table.holders[peerId] ?? 0) > now || (table.holders[peerId] !== undefined && (table.reserved[peerId] ?? 0) > now);
}

/** Errors: UnavailableError (with retryAfterMs) when the state store throttles or is down. */
export interface SourceGrantStore {
  /**
   * Grants `ask.peerId` a back-to-source lease for (task, site) as leaseFor decides,
   * written only if no other grant landed since the read. Returns `granted` (a new
   * lease), `renewed` (it held one already) or false (not held).
   */
  acquire(taskId: string, site: string, ask: LeaseAsk): Promise<LeaseOutcome>;
  holds(taskId: string, site: string, peerId: string, now: number): Promise<boolean>;
  release(taskId: string, site: string, peerId: string): Promise<void>;
}
