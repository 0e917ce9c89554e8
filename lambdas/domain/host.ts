/** A host's last heartbeat (site, role, load), for the manager's host list and the scheduler's seeds. */
export interface HostRecord {
  readonly peerId: string;
  readonly cluster: string;
  readonly site: string;
  readonly seed: boolean;
  readonly addr: string;
  readonly hostname: string;
  readonly version: string;
  readonly uploads: number;
  readonly activeTasks: number;
  /** Bytes in the host's cache. */
  readonly cacheBytes: number;
  /** Epoch ms of the heartbeat. */
  readonly lastSeen: number;
}

/** Errors: UnavailableError (with retryAfterMs) when the state store throttles or is down. */
export interface HostStore {
  put(host: HostRecord): Promise<void>;
  list(cluster: string, limit?: number): Promise<HostRecord[]>;
  /** Seeds of `cluster` (optionally of one site) seen at or after `since`: site → peer ids. */
  liveSeeds(cluster: string, since: number, site?: string): Promise<Map<string, string[]>>;
}
