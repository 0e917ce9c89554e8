import type { PeerCandidate } from '../../core/parent-selection.ts';

/** The small interfaces the scheduler service needs; stores implement them. */

export interface ObjectHead {
  readonly size: number;
  readonly etag: string;
  readonly versionId?: string;
}

export interface OriginReader {
  /** HeadObject; NotFoundError / ForbiddenError when S3 says so. */
  head(bucket: string, key: string, versionId?: string): Promise<ObjectHead>;
  /**
   * A presigned GET URL for back-to-source, so agents need no S3 permission of
   * their own (Range is an unsigned header, so one URL serves every piece).
   */
  presignGet?(bucket: string, key: string, versionId: string | undefined, expiresInSeconds: number): Promise<string>;
}

/** The scheduler's look at an HTTP(S) origin: one HEAD per task. */
export interface HttpHeadReader {
  /**
   * HEAD without following redirects. `etag` is the task's version tag: the strong
   * ETag, else `last-modified:<Last-Modified>:<length>` (core/http-version.ts).
   * BadRequestError when no version can be pinned or the server redirects;
   * NotFoundError / ForbiddenError / UnavailableError as the server answers.
   */
  head(url: string): Promise<ObjectHead>;
}

export interface UrlRecord {
  readonly url: string;
  readonly taskId: string;
  readonly checkedAt: number;
}

export interface TaskRecord {
  readonly id: string;
  readonly url: string;
  readonly etag: string;
  readonly size: number;
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly digestCount: number;
  readonly peerCount: number;
  readonly shards: number;
  readonly createdAt: number;
  /** Peers caught serving bad data for this task; never handed out again. */
  readonly blocked: readonly string[];
}

export interface TaskStore {
  getUrl(url: string): Promise<UrlRecord | undefined>;
  putUrl(record: UrlRecord): Promise<void>;
  getTask(taskId: string): Promise<TaskRecord | undefined>;
  /** Creates the task unless it exists; returns what is stored. */
  createTask(task: TaskRecord): Promise<TaskRecord>;
  /** Counts a newly registered peer and widens the shard count when due. */
  addPeer(taskId: string, peersPerShard: number, maxShards: number, count?: number): Promise<void>;
  listTasks(limit: number): Promise<TaskRecord[]>;
  block(taskId: string, peerIds: readonly string[]): Promise<void>;
}

export interface PeerRecord extends PeerCandidate {
  readonly taskId: string;
  readonly bytesFromPeers: number;
  readonly bytesFromOrigin: number;
}

export interface PeerStore {
  put(peer: PeerRecord, shards: number, ttlSeconds: number): Promise<void>;
  /** Up to `limit` peers of one random shard; `registered` (the task's peer count) lets a small swarm be read in one query. */
  sample(taskId: string, shards: number, limit: number, random: () => number, registered?: number): Promise<PeerRecord[]>;
  list(taskId: string, shards: number): Promise<PeerRecord[]>;
  remove(taskId: string, peerId: string, shards: number): Promise<void>;
}

export interface SourceGrantStore {
  /**
   * Grants `peerId` a back-to-source lease for (task, site) if fewer than
   * `limit` live leases exist or it already holds one. Returns true if held.
   */
  acquire(taskId: string, site: string, peerId: string, limit: number, leaseMs: number, now: number): Promise<boolean>;
  holds(taskId: string, site: string, peerId: string, now: number): Promise<boolean>;
  release(taskId: string, site: string, peerId: string): Promise<void>;
}

export interface ManifestStore {
  /** Stores digests; returns how many were new. Conflicting digests throw ConflictError. */
  put(taskId: string, digests: ReadonlyMap<number, string>): Promise<number>;
  get(taskId: string): Promise<Map<number, string>>;
}

/** Per-cluster settings the operator sets through the manager; absent fields use the defaults. */
export interface ClusterSettings {
  /**
   * `bucket/prefix` entries an S3 task URL must start with (undefined allows every bucket),
   * and `http(s)://host[:port]/prefix` entries without which no HTTP(S) URL is allowed.
   */
  readonly allowedOrigins?: readonly string[];
  readonly parentLimit?: number;
  readonly backToSourceLimit?: number;
  /** Lower bound of the announce interval handed to agents. */
  readonly minAnnounceIntervalMs?: number;
}

export interface ClusterSettingsSource {
  /** Settings of `cluster`, or undefined when the operator has set none. Implementations cache. */
  get(cluster: string): Promise<ClusterSettings | undefined>;
}

/** Seeds first: whether a normal agent should leave back-to-source to a live seed of its site. */
export interface SeedPreference {
  /** True while a live seed of (cluster, site) has been asked to fetch the task and may still join. */
  deferToSeed(cluster: string, site: string, taskId: string, url: string, now: number): Promise<boolean>;
}
