import { z } from 'zod';
import { LIMITS } from '../constants.ts';
import { clusterNameSchema, hexIdSchema, jobIdSchema, peerIdSchema, siteSchema } from '../ids.ts';
import { peerAddrSchema } from './scheduler.ts';
import { isRegistryEntry } from '../registry-blob.ts';

/**
 * Wire schemas of the operator's side: the manager API (clusters, preheat
 * jobs, tokens) and the host heartbeat agents send to the scheduler.
 */

/** `bucket` or `bucket/prefix`, the way allowlists and preheat rules name S3 locations. */
export const originPrefixSchema = z
  .string()
  .max(1024)
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^\u0000-\u001f]*)?$/, 'must be bucket or bucket/prefix');

const S3_PREFIX = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^\u0000-\u001f]*)?$/;

/** An allowlist entry: `bucket[/prefix]` for S3, or `http(s)://host[:port][/prefix]` for HTTP(S) origins. */
export const allowedOriginSchema = z
  .string()
  .max(1024)
  .refine(
    (entry) => S3_PREFIX.test(entry) || isHttpPrefix(entry) || (isRegistryEntry(entry) && isHttpPrefix(entry.slice(entry.indexOf('+') + 1))),
    'must be bucket or bucket/prefix, http(s)://host[:port]/prefix, or registry+ / registry-storage+ http(s)://host[:port]/prefix',
  );

function isHttpPrefix(entry: string): boolean {
  if (!/^https?:\/\/[^\s#?@]+$/i.test(entry)) return false;
  try {
    const url = new URL(entry);
    return url.hostname !== '' && !url.username && !url.password;
  } catch {
    return false;
  }
}

/** `registry+http(s)://host[:port]/<repository-prefix>`: images pushed there are preheated. */
const registryPreheatEntrySchema = z
  .string()
  .max(1024)
  .refine((entry) => entry.startsWith('registry+') && isHttpPrefix(entry.slice('registry+'.length)), 'must be registry+http(s)://host[:port]/prefix');

export const clusterSettingsSchema = z.strictObject({
  /** S3 task URLs must start with one of these (absent: every bucket); HTTP(S) URLs need a matching http(s):// entry. */
  allowedOrigins: z.array(allowedOriginSchema).max(100).optional(),
  parentLimit: z.number().int().min(1).max(32).optional(),
  backToSourceLimit: z.number().int().min(1).max(64).optional(),
  minAnnounceIntervalMs: z.number().int().min(0).max(300_000).optional(),
  /**
   * New objects under these prefixes (S3 ObjectCreated events) are preheated on this cluster's seeds;
   * `registry+https://host/<repository-prefix>` entries do the same for images pushed to ECR.
   */
  preheatOrigins: z.array(z.union([originPrefixSchema, registryPreheatEntrySchema])).max(100).optional(),
});
export type ClusterSettingsInput = z.infer<typeof clusterSettingsSchema>;

export const putClusterRequestSchema = z.strictObject({
  description: z.string().max(512).optional(),
  settings: clusterSettingsSchema,
});
export type PutClusterRequest = z.infer<typeof putClusterRequestSchema>;

export const preheatKindSchema = z.enum(['object', 'prefix']);

export const createPreheatRequestSchema = z.strictObject({
  /** s3://bucket/key (kind object) or s3://bucket/prefix (kind prefix: every object under it). */
  url: z.string().min(1).max(LIMITS.maxUrlLength),
  kind: preheatKindSchema.optional(),
  /** Pins a version of the object (kind object). */
  versionId: z.string().min(1).max(1024).optional(),
  cluster: clusterNameSchema.optional(),
  /** Sites whose seeds must hold the object; absent: the sites that have live seeds now. */
  sites: z.array(siteSchema).min(1).max(64).optional(),
});
export type CreatePreheatRequest = z.infer<typeof createPreheatRequestSchema>;

export const preheatStateSchema = z.enum(['pending', 'running', 'done', 'failed']);
export type PreheatState = z.infer<typeof preheatStateSchema>;

export const tokenScopeSchema = z.enum(['operator', 'agent']);
export type TokenScope = z.infer<typeof tokenScopeSchema>;

/** A host name or IP an agent may advertise besides its source address (NAT). */
export const agentAddrSchema = z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/, 'must be a host name or IP address');

/**
 * `operator` (the default): the manager API and the scheduler's read routes.
 * `agent`: the scheduler's agent routes only, bound to one peer id, its cluster,
 * site and role (seed), and the addresses it may advertise besides its own source address.
 */
export const createTokenRequestSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9 ._@-]{1,64}$/, 'must be 1-64 characters of letters, digits, space . _ @ -'),
    /** Days until the token stops working; absent: no expiry. */
    expiresInDays: z.number().int().min(1).max(3650).optional(),
    scope: tokenScopeSchema.optional(),
    peerId: peerIdSchema.optional(),
    cluster: clusterNameSchema.optional(),
    site: siteSchema.optional(),
    seed: z.boolean().optional(),
    addrs: z.array(agentAddrSchema).max(16).optional(),
  })
  .superRefine((request, context) => {
    const binding = ['peerId', 'cluster', 'site', 'seed', 'addrs'] as const;
    if (request.scope === 'agent' && !request.peerId) context.addIssue({ code: 'custom', path: ['peerId'], message: 'an agent token names its peer id' });
    if (request.scope !== 'agent') {
      for (const field of binding) {
        if (request[field] !== undefined) context.addIssue({ code: 'custom', path: [field], message: 'only an agent token is bound to a peer' });
      }
    }
  });
export type CreateTokenRequest = z.infer<typeof createTokenRequestSchema>;

const countSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** What a seed reports about a preheat job it was handed. */
export const preheatReportSchema = z.strictObject({
  jobId: jobIdSchema,
  state: z.enum(['done', 'failed']),
  taskId: hexIdSchema.optional(),
  error: z.string().max(512).optional(),
});
export type PreheatReport = z.infer<typeof preheatReportSchema>;

/** Task ids one heartbeat may carry (64 hex each: about 140 KB, within the body limit). */
export const HOLDINGS_MAX = 2_000;

export const heartbeatRequestSchema = z.strictObject({
  peerId: peerIdSchema,
  cluster: clusterNameSchema.optional(),
  site: siteSchema.optional(),
  seed: z.boolean().optional(),
  addr: peerAddrSchema.optional(),
  hostname: z.string().max(255).optional(),
  version: z.string().max(64).optional(),
  /** Load: uploads being served, pulls running, bytes held in the cache. */
  uploads: countSchema.max(100_000).optional(),
  activeTasks: countSchema.max(100_000).optional(),
  cacheBytes: countSchema.optional(),
  /** Outcomes of preheat jobs handed to this seed. */
  preheat: z.array(preheatReportSchema).max(100).optional(),
  /**
   * Complete tasks this host seeds (task ids), sent when they change and every
   * `holdingsIntervalMs`: the scheduler refreshes this peer's finished records of
   * them, so an idle host costs one request per beat whatever its cache holds.
   */
  holdings: z.array(hexIdSchema).max(HOLDINGS_MAX).optional(),
});
export type HeartbeatRequest = z.infer<typeof heartbeatRequestSchema>;

export const preheatAssignmentSchema = z.object({ jobId: z.string(), url: z.string() });
export type PreheatAssignment = z.infer<typeof preheatAssignmentSchema>;

export const heartbeatResponseSchema = z.object({
  intervalMs: countSchema,
  /** Preheat jobs this seed should pull now (seeds only). */
  preheat: z.array(preheatAssignmentSchema),
  /** How often the scheduler wants `holdings` (absent: it does not take them). */
  holdingsIntervalMs: countSchema.optional(),
  /** Held tasks the scheduler has no finished record of for this peer: announce each once (spread out) to be a parent again. */
  unknownHoldings: z.array(hexIdSchema).max(HOLDINGS_MAX).optional(),
});
export type HeartbeatResponse = z.infer<typeof heartbeatResponseSchema>;
