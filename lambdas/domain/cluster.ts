import type { ClusterSettingsInput } from '../../core/wire/manager.ts';

/** Per-cluster settings the operator sets through the manager; absent fields use the defaults. */
export interface ClusterSettings {
  /**
   * `bucket/prefix` entries an S3 task URL must start with (undefined allows every bucket),
   * and `http(s)://host[:port]/prefix` entries without which no HTTP(S) URL is allowed
   * (core/allowlist.ts).
   */
  readonly allowedOrigins?: readonly string[];
  readonly parentLimit?: number;
  readonly backToSourceLimit?: number;
  /** Lower bound of the announce interval handed to agents. */
  readonly minAnnounceIntervalMs?: number;
}

export interface ClusterRecord {
  readonly name: string;
  readonly description: string;
  readonly settings: ClusterSettingsInput;
  readonly updatedAt: number;
}

/** The operator's clusters. Errors: UnavailableError when the state store throttles or is down. */
export interface ClusterStore {
  get(name: string): Promise<ClusterRecord | undefined>;
  put(record: ClusterRecord): Promise<void>;
  delete(name: string): Promise<void>;
  list(): Promise<ClusterRecord[]>;
}

/** The scheduler's read of cluster settings. */
export interface ClusterSettingsSource {
  /** Settings of `cluster`, or undefined when the operator has set none. Implementations cache. */
  get(cluster: string): Promise<ClusterSettings | undefined>;
}
