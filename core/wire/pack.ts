import { z } from 'zod';
import { PACK_MAX_MEMBERS, PACK_MEMBER_MAX_BYTES, PACK_MIN_MEMBERS } from '../pack.ts';

/**
 * POST /v1/packs (scheduler): opens the task of a pack of small objects (core/pack.ts),
 * every member inside the caller's allowlist; answered with the pack's task info.
 * The same body on the agent's local API pulls the pack into its cache.
 */
export const PACKS_ROUTE = '/v1/packs';

export const packMemberSchema = z.strictObject({
  key: z.string().min(1).max(1024),
  size: z.number().int().min(0).max(PACK_MEMBER_MAX_BYTES),
  etag: z.string().min(1).max(128),
});

export const packRequestSchema = z.strictObject({
  bucket: z.string().min(3).max(63),
  /** In ascending key order, each key once (the canonical order the pack id is computed over). */
  members: z.array(packMemberSchema).min(PACK_MIN_MEMBERS).max(PACK_MAX_MEMBERS),
});
export type PackRequest = z.infer<typeof packRequestSchema>;
