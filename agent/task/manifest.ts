import type { DigestMap } from '../../core/wire/scheduler.ts';

/**
 * The agent's copy of a task's piece digests, as handed out by the scheduler.
 * Pieces from peers are checked against it; a missing digest is fetched once
 * (coalescing concurrent misses into one request).
 */
export class Manifest {
  private readonly digests = new Map<number, string>();
  private refreshing?: Promise<void>;

  constructor(private readonly fetchAll: () => Promise<DigestMap>) {}

  get size(): number {
    return this.digests.size;
  }

  get(index: number): string | undefined {
    return this.digests.get(index);
  }

  merge(map: DigestMap | undefined): void {
    if (!map) return;
    for (const [index, digest] of Object.entries(map)) this.digests.set(Number(index), digest);
  }

  set(index: number, digest: string): void {
    this.digests.set(index, digest);
  }

  /** The digest of `index`, asking the scheduler if it is not known yet. */
  async require(index: number): Promise<string | undefined> {
    const known = this.digests.get(index);
    if (known) return known;
    if (!this.refreshing) {
      this.refreshing = this.fetchAll()
        .then((map) => this.merge(map))
        .finally(() => {
          this.refreshing = undefined;
        });
    }
    await this.refreshing.catch(() => {});
    return this.digests.get(index);
  }
}
