/** What a host heartbeat refreshes on each finished peer record of its holdings. */
export interface SeederRefresh {
  readonly peerId: string;
  /** The address the heartbeat was bound to (domain/announce-binding.ts). */
  readonly addr: string;
  readonly uploads: number;
  /** Epoch ms of the heartbeat. */
  readonly updatedAt: number;
  /** When the next refresh is due: the record is stale after three missed ones. */
  readonly intervalMs: number;
}

/**
 * A seeding host's finished peer records, refreshed in bulk from its heartbeat.
 * Errors: UnavailableError (with retryAfterMs) when the state store throttles or is down.
 */
export interface SeederStore {
  /**
   * Refreshes the finished, unfailed records `refresh.peerId` already has for `taskIds`
   * (never creates one: a record is made only by an announce, which checks the allowlist).
   * Returns the task ids it found no such record for.
   */
  refresh(refresh: SeederRefresh, taskIds: readonly string[], ttlSeconds: number): Promise<string[]>;
}
