import type { OriginLocation } from './origin-url.ts';

/**
 * Container-image blobs as tasks. A blob's task URL is the registry's own blob URL,
 * `http(s)://<registry>/v2/<repository>/blobs/sha256:<hex>`: one spelling for every host
 * that pulls it from that repository. Such a URL is never fetched or HEADed plainly (the
 * registry wants the client's credentials); a host proves it may read the blob by showing
 * the registry's answer to its own request, the 307 `Location` (a URL the registry
 * signed), which the scheduler HEADs.
 *
 * Allowlist entries (a cluster's `allowedOrigins`):
 * - `registry+http(s)://host[:port]/[repository-prefix]` admits blob URLs of that
 *   registry whose repository starts with the prefix;
 * - `registry-storage+http(s)://host[:port]/[path-prefix]` admits proofs (redirect
 *   targets) there, e.g. ECR's regional layer bucket. The scheduler HEADs nothing else.
 */
export interface RegistryBlob {
  /** `http(s)://host[:port]`. */
  readonly registry: string;
  readonly repository: string;
  /** `sha256:<64 hex>`. */
  readonly digest: string;
}

export const REGISTRY_ENTRY_PREFIX = 'registry+';
export const REGISTRY_STORAGE_ENTRY_PREFIX = 'registry-storage+';

/** OCI distribution's repository name grammar (path components of lowercase alphanumerics and separators). */
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const BLOB_PATH = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/;

/** The blob a URL names, or undefined for any other URL. */
export function registryBlobOf(url: string): RegistryBlob | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  // Only the canonical spelling: a URL the parser would rewrite (dot segments, case) names no blob.
  if (parsed.href !== url) return undefined;
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.search || parsed.hash || parsed.username || parsed.password) return undefined;
  const match = BLOB_PATH.exec(parsed.pathname);
  if (!match || match[1].length > 255 || !REPOSITORY.test(match[1])) return undefined;
  return { registry: parsed.origin, repository: match[1], digest: match[2] };
}

/** The task URL of a blob. */
export function registryBlobUrl(blob: RegistryBlob): string {
  return `${blob.registry}/v2/${blob.repository}/blobs/${blob.digest}`;
}

/** Whether a `registry+` entry admits the blob (scheme, host and port exactly; repository by prefix). */
export function registryEntryAdmits(entry: string, blob: RegistryBlob): boolean {
  if (!entry.startsWith(REGISTRY_ENTRY_PREFIX)) return false;
  const prefix = urlOf(entry.slice(REGISTRY_ENTRY_PREFIX.length));
  if (!prefix || prefix.origin !== blob.registry) return false;
  return blob.repository.startsWith(prefix.pathname.replace(/^\//, ''));
}

/** Whether a `registry-storage+` entry admits a proof URL (scheme, host and port exactly; path by prefix). */
export function registryStorageAdmits(entry: string, proofUrl: string): boolean {
  if (!entry.startsWith(REGISTRY_STORAGE_ENTRY_PREFIX)) return false;
  const prefix = urlOf(entry.slice(REGISTRY_STORAGE_ENTRY_PREFIX.length));
  // A proof is a presigned URL: its query carries the signature.
  const proof = urlOf(proofUrl, true);
  if (!prefix || !proof) return false;
  if (proof.origin !== prefix.origin) return false;
  if (prefix.pathname !== '/' && /%2f|%5c|%2e/i.test(proof.pathname)) return false;
  return proof.pathname.startsWith(prefix.pathname);
}

/** The registry blob an allowlist admits a location as, or undefined (then it is no registry task). */
export function admittedRegistryBlob(location: OriginLocation, entries: readonly string[] | undefined): RegistryBlob | undefined {
  if (location.kind !== 'http' || !entries) return undefined;
  const blob = registryBlobOf(location.url);
  return blob && entries.some((entry) => registryEntryAdmits(entry, blob)) ? blob : undefined;
}

/** Whether any entry is a registry entry of either kind (they are not HTTP(S) origins to fetch). */
export function isRegistryEntry(entry: string): boolean {
  return entry.startsWith(REGISTRY_ENTRY_PREFIX) || entry.startsWith(REGISTRY_STORAGE_ENTRY_PREFIX);
}

function urlOf(text: string, query = false): URL | undefined {
  if (!/^https?:\/\//i.test(text)) return undefined;
  try {
    const url = new URL(text);
    return url.username || url.password || (url.search && !query) || url.hash ? undefined : url;
  } catch {
    return undefined;
  }
}
