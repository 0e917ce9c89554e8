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

/**
 * May a caller list `prefix` of `bucket`? Only when every key the listing could
 * answer is one `originAllowed` admits: no list admits every bucket; a `bucket`
 * entry, that bucket; a `bucket/p` entry, prefixes starting with `p` (byte for byte).
 * A listing is never narrowed silently: a prefix that reaches outside is refused.
 */
export function prefixListingAllowed(bucket: string, prefix: string, entries: readonly string[] | undefined): boolean {
  if (entries === undefined) return true;
  return entries.some((entry) => {
    if (/^[a-z][a-z0-9+.-]*:/i.test(entry)) return false;
    const slash = entry.indexOf('/');
    if (slash < 0) return bucket === entry;
    return bucket === entry.slice(0, slash) && prefix.startsWith(entry.slice(slash + 1));
  });
}
