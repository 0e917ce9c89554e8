import { UnavailableError } from '../../core/errors.ts';
import type { DigestMap } from '../../core/wire/scheduler.ts';

/** After a failed fetch of the digests, the next one waits this long (ms), so a down scheduler is not hammered. */
export const MANIFEST_RETRY_MS = 1_000;

/**
 * The agent's copy of a task's piece digests, as handed out by the scheduler.
 * Pieces from peers are checked against it; a missing digest is fetched once
 * (coalescing concurrent misses into one request).
 */
export class Manifest {
  private readonly digests = new Map<number, string>();
  private refreshing?: Promise<void>;
  private failedAt = 0;

  constructor(
    private readonly fetchAll: () => Promise<DigestMap>,
    private readonly retryMs = MANIFEST_RETRY_MS,
  ) {}

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

  /**
   * The digest of `index`, asking the scheduler if it is not known yet; undefined when the
   * scheduler answered without it. Error: UnavailableError (context `controlPlane: true`) when
   * the scheduler could not be asked: that says nothing about any parent.
   */
  async require(index: number): Promise<string | undefined> {
    const known = this.digests.get(index);
    if (known) return known;
    if (!this.refreshing) {
      const wait = this.failedAt + this.retryMs - Date.now();
      this.refreshing = (wait > 0 ? new Promise((resolve) => setTimeout(resolve, wait)) : Promise.resolve())
        .then(() => this.fetchAll())
        .then(
          (map) => {
            this.failedAt = 0;
            this.merge(map);
          },
          (cause) => {
            this.failedAt = Date.now();
            throw new UnavailableError(`piece digests unavailable: ${(cause as Error)?.message ?? cause}`, { cause, context: { controlPlane: true, retryAfterMs: this.retryMs } });
          },
        )
        .finally(() => {
          this.refreshing = undefined;
        });
    }
    await this.refreshing;
    return this.digests.get(index);
  }
}
