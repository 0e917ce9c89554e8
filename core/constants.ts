/** Names and defaults shared by the control plane, the agent and the CDK constructs. */

/** DynamoDB single-table key attribute names. */
export const TABLE_PARTITION_KEY = 'pk';
export const TABLE_SORT_KEY = 'sk';
/** DynamoDB TTL attribute (epoch seconds) on every ephemeral item. */
export const TABLE_TTL_ATTRIBUTE = 'expiresAt';

/** The agent's peer-server port; the CDK fleet opens it only to members of the fleet. */
export const DEFAULT_PEER_PORT = 7402;

/**
 * Node options the agent runs with where we deploy it (systemd unit, ECS image, benchmarks).
 * A young generation of 8 MB instead of Node's 16: the agent is a long-running daemon whose
 * pieces live in Buffers outside the V8 heap, so its short-lived objects need little room,
 * and the smaller one keeps ~15 MB off its resident size (docs/BENCHMARKS.md, data plane).
 */
export const AGENT_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=8'];

/** Header that carries the control-plane token (local stack; SigV4 in AWS). */
export const AUTH_HEADER = 'authorization';

export const DEFAULTS = {
  parentLimit: 4,
  backToSourceLimit: 1,
  site: 'default',
  /** A peer that has not announced for this long is not handed out as a parent. */
  peerStaleMs: 5_000,
  /** Lease of a back-to-source grant; the holder renews it on every announce. */
  sourceLeaseMs: 15_000,
  /** How long the scheduler trusts a HeadObject of a URL before checking again. */
  originRecheckMs: 30_000,
  minAnnounceIntervalMs: 1_000,
  maxAnnounceIntervalMs: 30_000,
  /** Peers per shard before a task's peer items spread over more partition keys. */
  peersPerShard: 256,
  maxShards: 64,
  /** Peer items sampled per announce. */
  sampleSize: 48,
  /** Task and peer items expire after this long without activity. */
  taskTtlSeconds: 7 * 24 * 3600,
  peerTtlSeconds: 3600,
} as const;

export const LIMITS = {
  maxUrlLength: 2048,
  maxBodyBytes: 256 * 1024,
  maxPieces: 1 << 20,
} as const;
