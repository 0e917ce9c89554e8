import { z } from 'zod';

/**
 * Every identifier grammar of Mayfly, once: task ids and digests (sha256 hex),
 * peer ids, sites and cluster names, preheat job ids. Wire schemas, routes,
 * the CLI and the agent's config all check against these.
 */

const HEX64 = /^[0-9a-f]{64}$/;
const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;
const DIGEST_REF = /^sha256:[0-9a-f]{64}$/;
const NAME_RULE = 'must be 1-64 characters of A-Z a-z 0-9 . _ -';

/** A task id or a sha256 digest: 64 lowercase hex characters. */
export function isHexId(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value);
}

/** A peer id, site or cluster name: 1-64 of A-Z a-z 0-9 . _ - */
export function isName(value: unknown): value is string {
  return typeof value === 'string' && NAME.test(value);
}

export function isJobId(value: unknown): value is string {
  return typeof value === 'string' && JOB_ID.test(value);
}

/** `sha256:<64 hex>`, as `--digest` and OCI digests spell a whole-object digest. */
export function isDigestRef(value: unknown): value is string {
  return typeof value === 'string' && DIGEST_REF.test(value);
}

/** Replaces what a name may not hold, e.g. a hostname made into a peer id. */
export function toNameChars(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '-');
}

export const hexIdSchema = z.string().regex(HEX64, 'must be 64 lowercase hex characters');
export const sha256HexSchema = z.string().regex(HEX64, 'must be a sha256 hex digest');
export const peerIdSchema = z.string().regex(NAME, NAME_RULE);
export const siteSchema = z.string().regex(NAME, NAME_RULE);
export const clusterNameSchema = siteSchema;
export const jobIdSchema = z.string().regex(JOB_ID, 'must be a job id');
export const digestRefSchema = z.string().regex(DIGEST_REF, 'must be sha256:<64 hex>');
