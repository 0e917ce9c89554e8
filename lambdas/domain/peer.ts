import type { PeerCandidate } from '../../core/parent-selection.ts';

/** A peer of one task as its last announce left it. */
export interface PeerRecord extends PeerCandidate {
  readonly taskId: string;
  readonly bytesFromPeers: number;
  readonly bytesFromOrigin: number;
  /** Why its pull failed, as the agent said (with `failed`). */
  readonly reason?: string;
}

/** Errors: UnavailableError (with retryAfterMs) when the state store throttles or is down. */
export interface PeerStore {
  /** Writes the peer into the shard `shards` puts it in; the item expires after `ttlSeconds`. */
  put(peer: PeerRecord, shards: number, ttlSeconds: number): Promise<void>;
  /** Up to `limit` peers of one random shard; `registered` (the task's peer count) lets a small swarm be read in one query. */
  sample(taskId: string, shards: number, limit: number, random: () => number, registered?: number): Promise<PeerRecord[]>;
  list(taskId: string, shards: number): Promise<PeerRecord[]>;
  /** Whether the peer is registered for the task (its item is where `shards` puts it, unexpired). */
  has(taskId: string, peerId: string, shards: number): Promise<boolean>;
  remove(taskId: string, peerId: string, shards: number): Promise<void>;
}
