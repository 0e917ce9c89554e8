import type { HostDirectory, HostQuery, HostRecord } from '../domain/host-directory.ts';

const MAX_ENTRIES = 20_000;

/**
 * A host directory read through at most once per host and `ttlMs` per Lambda
 * instance (a host's zone never changes and its addresses rarely do), so an
 * announce costs no cloud API call in the steady state. "No such host" is kept
 * only `missTtlMs`: EC2's records are eventually consistent, and a host that has
 * just started may be missing for a few seconds. Failures are not kept.
 */
export class CachedHostDirectory implements HostDirectory {
  private readonly cache = new Map<string, { at: number; value: Promise<HostRecord | undefined> }>();

  constructor(
    private readonly directory: HostDirectory,
    private readonly ttlMs = 10 * 60_000,
    private readonly missTtlMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  lookup(query: HostQuery): Promise<HostRecord | undefined> {
    const key = `${query.ecsCluster ?? ''}/${query.peerId}`;
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    const at = this.now();
    const value = this.directory.lookup(query);
    this.cache.set(key, { at, value });
    value.then(
      // A miss is kept briefly: backdate it so it expires after missTtlMs.
      (record) => record === undefined && this.cache.get(key)?.value === value && this.cache.set(key, { at: at - this.ttlMs + this.missTtlMs, value }),
      () => this.cache.get(key)?.value === value && this.cache.delete(key),
    );
    return value;
  }
}
