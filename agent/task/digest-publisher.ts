import type { Logger } from '../../core/log.ts';
import type { DigestMap } from '../../core/wire/scheduler.ts';

/** Where the digest of a piece read from the origin goes before children may have the piece. */
export interface DigestSink {
  /** Resolves true once children may have the piece (its digest is published, or vouched for and matching). */
  publish(index: number, digest: string): Promise<boolean>;
  drain(): Promise<void>;
  /** Whether this agent's own digests are the task's (it attests them) and so enter its manifest at once. */
  readonly attests: boolean;
}

/**
 * For HTTP(S) origins, which the control plane may not reach (digestSource
 * `attested`). Publishes digests of pieces read from the origin, batching whatever
 * completed while the previous call was in flight. A piece is advertised to
 * children only after its digest is published, so they can always verify it.
 */
export class DigestPublisher implements DigestSink {
  readonly attests = true;
  private pending = new Map<number, { digest: string; done: Array<(ok: boolean) => void> }>();
  private flushing = false;
  private idle: Array<() => void> = [];

  constructor(private readonly send: (digests: DigestMap) => Promise<unknown>, private readonly log: Logger) {}

  /** Resolves true once published, false if the scheduler refused it. */
  publish(index: number, digest: string): Promise<boolean> {
    return new Promise((resolve) => {
      const entry = this.pending.get(index) ?? { digest, done: [] };
      entry.done.push(resolve);
      this.pending.set(index, entry);
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.pending.size === 0) return;
    this.flushing = true;
    const batch = this.pending;
    this.pending = new Map();
    const map: DigestMap = {};
    for (const [index, { digest }] of batch) map[String(index)] = digest;
    let ok = false;
    // Retry a few times: a piece advertised without a published digest looks like a bad parent to children.
    for (let attempt = 0; attempt < 4 && !ok; attempt++) {
      try {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
        await this.send(map);
        ok = true;
      } catch (error) {
        if ((error as { code?: string }).code === 'Forbidden') break; // lease lost: retrying cannot help
        this.log.warn('publishing digests failed', { error: (error as Error).message, pieces: batch.size, attempt });
      }
    }
    for (const { done } of batch.values()) for (const resolve of done) resolve(ok);
    this.flushing = false;
    if (this.pending.size === 0) for (const resolve of this.idle.splice(0)) resolve();
    void this.flush();
  }

  /** Resolves when every digest handed in so far has been published (or given up on). */
  drain(): Promise<void> {
    if (!this.flushing && this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}
