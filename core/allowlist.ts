import { originAllowedBy, type OriginLocation } from './origin-url.ts';
import { admittedRegistryBlob } from './registry-blob.ts';

/**
 * The one allowlist rule, used by the scheduler for every announce and lookup
 * and by the manager for preheats: is `location` allowed by a cluster's
 * `allowedOrigins`? S3 without a list: every bucket. HTTP(S) never without an
 * entry it falls under, or the scheduler would HEAD (and agents GET) any address
 * a caller names, inside the network too. Entries as originAllowedBy reads them.
 */
export function originAllowed(location: OriginLocation, entries: readonly string[] | undefined): boolean {
  if (entries === undefined) return location.kind === 's3';
  return entries.some((entry) => originAllowedBy(entry, location)) || admittedRegistryBlob(location, entries) !== undefined;
}
