import { z } from 'zod';
import { LIMITS } from '../constants.ts';
import { hexIdSchema, peerIdSchema, sha256HexSchema, siteSchema } from '../ids.ts';

/** Wire schemas of the scheduler API, validated at both edges. */

const countSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** Where other agents reach this agent's peer server: http://host:port. */
export const peerAddrSchema = z
  .string()
  .max(256)
  .regex(/^http:\/\/[A-Za-z0-9.:[\]-]+:\d{1,5}$/, 'must look like http://host:port');

/** `lookup` only resolves the URL to its task (a HEAD): it registers no peer and takes no grant. */
export const announceEventSchema = z.enum(['register', 'progress', 'finished', 'failed', 'lookup']);
export type AnnounceEvent = z.infer<typeof announceEventSchema>;

export const announceRequestSchema = z.strictObject({
  url: z.string().min(1).max(LIMITS.maxUrlLength),
  /** Known after the first answer; lets the scheduler skip the URL lookup. */
  taskId: hexIdSchema.optional(),
  peerId: peerIdSchema,
  addr: peerAddrSchema,
  /** The cluster whose settings (allowlist, limits) apply; "default" if absent. */
  cluster: siteSchema.optional(),
  site: siteSchema.optional(),
  seed: z.boolean().optional(),
  event: announceEventSchema,
  /** Pieces this peer holds, verified. */
  completed: countSchema.max(LIMITS.maxPieces).optional(),
  /** Digests the agent already holds, so unchanged manifests are not resent. */
  digestsKnown: countSchema.max(LIMITS.maxPieces).optional(),
  bytesFromPeers: countSchema.optional(),
  bytesFromOrigin: countSchema.optional(),
  /** Active uploads, a load hint for parent choice. */
  uploads: countSchema.max(100_000).optional(),
  /** Set when the agent ran out of useful parents. */
  starved: z.boolean().optional(),
  /** With `failed`: why the pull failed, for the operator's console. */
  reason: z.string().max(256).optional(),
  /** Peers this agent caught serving bad data. */
  badParents: z.array(peerIdSchema).max(32).optional(),
  /** Parents this agent cannot reach (dead or partitioned); not handed back to it. */
  unreachable: z.array(peerIdSchema).max(32).optional(),
  /** For a registry blob URL (core/registry-blob.ts): the 307 Location the registry gave this host's own request. */
  registryProof: z.string().url().max(8192).optional(),
});
export type AnnounceRequest = z.infer<typeof announceRequestSchema>;

export const taskInfoSchema = z.object({
  id: hexIdSchema,
  url: z.string(),
  size: countSchema,
  etag: z.string(),
  pieceLength: countSchema,
  pieceCount: countSchema,
  /**
   * Who vouches for the digests: `origin`, the control plane read the object itself
   * (S3); `attested`, the back-to-source holder (HTTP(S) origins). Absent from older schedulers.
   */
  digestSource: z.enum(['origin', 'attested']).optional(),
  /** The manifest is distrusted for now: no parents are handed out, every puller reads the origin. */
  quarantined: z.boolean().optional(),
});
export type TaskInfo = z.infer<typeof taskInfoSchema>;

export const parentInfoSchema = z.object({
  peerId: peerIdSchema,
  addr: peerAddrSchema,
  site: siteSchema,
  seed: z.boolean(),
  completed: countSchema,
  finished: z.boolean(),
  source: z.boolean(),
});
export type ParentInfo = z.infer<typeof parentInfoSchema>;

/** Piece index (decimal string) → sha256 hex. Sparse while the manifest grows. */
export const digestMapSchema = z.record(z.string().regex(/^\d{1,7}$/), sha256HexSchema);
export type DigestMap = z.infer<typeof digestMapSchema>;

/** At most this many http(s):// allowlist entries travel in an announce answer. */
export const HTTP_ORIGINS_MAX = 256;

export const announceResponseSchema = z.object({
  task: taskInfoSchema,
  parents: z.array(parentInfoSchema),
  backToSource: z.boolean(),
  /** Present when the scheduler holds more digests than the agent said it knows. */
  digests: digestMapSchema.optional(),
  digestCount: countSchema,
  announceIntervalMs: countSchema,
  /**
   * Peer access for this task (see core/peer-credential.ts): the scheduler's public key
   * a parent checks children with (it cannot mint), and this agent's own credential for
   * its parents. Absent for a lookup, and when the scheduler runs without peer auth.
   */
  peerAuth: z
    .object({ publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/), credential: z.string().max(256), expiresAt: countSchema })
    .optional(),
  /**
   * The cluster's http(s):// allowlist entries. The agent keeps the latest list (across
   * restarts) and, while the scheduler is unreachable, falls back only to HTTP(S) URLs under one.
   */
  httpOrigins: z.array(z.string().max(2048)).max(HTTP_ORIGINS_MAX).optional(),
  /** With a back-to-source grant: a presigned GET for the object, so the agent needs no S3 permission. */
  origin: z
    .object({
      url: z.string().url().max(8192),
      expiresAt: countSchema,
      /** A pack's holder: one presigned GET per member, in member order (`url` is the first). */
      members: z.array(z.string().url().max(8192)).max(64).optional(),
    })
    .optional(),
});
export type AnnounceResponse = z.infer<typeof announceResponseSchema>;

export const publishDigestsRequestSchema = z.strictObject({
  peerId: peerIdSchema,
  site: siteSchema.optional(),
  digests: digestMapSchema.refine((map) => Object.keys(map).length <= 1024, 'at most 1024 digests per call'),
});
export type PublishDigestsRequest = z.infer<typeof publishDigestsRequestSchema>;

export const publishDigestsResponseSchema = z.object({ accepted: countSchema, digestCount: countSchema });
export const manifestResponseSchema = z.object({ digests: digestMapSchema, digestCount: countSchema });
export type ManifestResponse = z.infer<typeof manifestResponseSchema>;

/** A back-to-source holder read bytes whose digest differs from the vouched one (POST /v1/tasks/:id/incidents). */
export const incidentRequestSchema = z.strictObject({
  peerId: peerIdSchema,
  site: siteSchema.optional(),
  piece: countSchema.max(LIMITS.maxPieces),
  /** sha256 hex of what the agent read. */
  digest: sha256HexSchema,
});
export type IncidentRequest = z.infer<typeof incidentRequestSchema>;
export const incidentResponseSchema = z.object({ quarantined: z.boolean() });

export const leaveRequestSchema = z.strictObject({ peerId: peerIdSchema, site: siteSchema.optional() });


/**
 * The scheduler's view of one task's swarm (GET /v1/tasks?url=… and
 * GET /v1/tasks/:taskId), as `mayfly stat` shows it.
 */

export const swarmPeerSchema = z.object({
  peerId: peerIdSchema,
  addr: z.string(),
  site: siteSchema,
  seed: z.boolean(),
  finished: z.boolean(),
  /** Holds a back-to-source grant (reads S3). */
  source: z.boolean(),
  failed: z.boolean(),
  /** Verified pieces. */
  completed: countSchema,
  uploads: countSchema,
  /** Epoch ms of the peer's last announce. */
  updatedAt: countSchema,
  bytesFromPeers: countSchema,
  bytesFromOrigin: countSchema,
});
export type SwarmPeer = z.infer<typeof swarmPeerSchema>;

export const swarmResponseSchema = z.object({
  task: taskInfoSchema,
  peers: z.array(swarmPeerSchema),
  blocked: z.array(z.string()),
});
export type SwarmResponse = z.infer<typeof swarmResponseSchema>;

/**
 * One page of a prefix listing (GET /v1/listings?bucket=…&prefix=…), made by the
 * scheduler with its own S3 role inside the caller's allowlist, so agents need no
 * S3 list permission. Query: `bucket`, `prefix`, `delimiter`, `continuationToken`
 * (S3's, opaque), `startAfter`, `maxKeys` (1–1000, default 1000).
 */
export const LISTING_PAGE_MAX = 1000;

export const listedObjectSchema = z.object({
  key: z.string().max(1024),
  /** Bytes. */
  size: countSchema,
  /** S3's ETag, quoted as S3 sends it. */
  etag: z.string().max(256),
  /** S3's LastModified, ISO 8601. */
  lastModified: z.string().max(64),
});
export type ListedObjectInfo = z.infer<typeof listedObjectSchema>;

export const listingResponseSchema = z.object({
  bucket: z.string(),
  prefix: z.string(),
  objects: z.array(listedObjectSchema).max(LISTING_PAGE_MAX),
  /** With a delimiter: the "folders" rolled up (each ends with the delimiter). */
  commonPrefixes: z.array(z.string().max(1024)).max(LISTING_PAGE_MAX),
  truncated: z.boolean(),
  nextContinuationToken: z.string().max(4096).optional(),
});
export type ListingResponse = z.infer<typeof listingResponseSchema>;

export const listingQuerySchema = z.strictObject({
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
  // eslint-disable-next-line no-control-regex
  prefix: z.string().max(1024).regex(/^[^\u0000-\u001f]*$/, 'must hold no control characters').default(''),
  delimiter: z.string().min(1).max(16).optional(),
  continuationToken: z.string().min(1).max(4096).optional(),
  startAfter: z.string().max(1024).optional(),
  maxKeys: z.coerce.number().int().min(1).max(LISTING_PAGE_MAX).default(LISTING_PAGE_MAX),
  /** Operator only: whose allowlist applies (an agent's is its own). */
  cluster: siteSchema.optional(),
});
export type ListingQuery = z.infer<typeof listingQuerySchema>;

/** One listing page as an agent asks for it (the query of GET /v1/listings; the scheduler fills the defaults). */
export interface ListingPageQuery {
  readonly bucket: string;
  readonly prefix?: string;
  readonly delimiter?: string;
  readonly continuationToken?: string;
  readonly startAfter?: string;
  readonly maxKeys?: number;
}
