import type { Logger } from '../../core/log.ts';

/** Least time between two resumption announces: a host with 500 cached tasks takes about a minute, not one burst. */
export const DEFAULT_RESUME_GAP_MS = 100;
/** A task announced for resumption is not announced again for this long, whatever the heartbeat says. */
const RETRY_AFTER_MS = 5 * 60_000;

export interface SeedResumerOptions {
  /** Announces one held task (its session's announce); rejects if the scheduler refused or is unreachable. */
  readonly announce: (taskId: string) => Promise<void>;
  readonly log: Logger;
  readonly gapMs?: number;
}

/**
 * Announces held tasks the scheduler has no seeder record of (the heartbeat's
 * `unknownHoldings`: after a restart, or after the records expired), one at a
 * time with a jittered gap, so a restart costs the control plane a trickle, not
 * a burst. Each announce makes the host a parent of that task again; from then
 * on the heartbeat keeps the record fresh.
 */
export class SeedResumer {
  private readonly queue = new Set<string>();
  private readonly triedAt = new Map<string, number>();
  private running?: Promise<void>;
  private stopped = false;

  constructor(private readonly options: SeedResumerOptions) {}

  /** Queues `taskIds` (those already queued or tried in the last few minutes are skipped). */
  enqueue(taskIds: readonly string[]): void {
    const now = Date.now();
    for (const taskId of taskIds) {
      const tried = this.triedAt.get(taskId);
      if (tried === undefined || now - tried > RETRY_AFTER_MS) this.queue.add(taskId);
    }
    if (!this.running && this.queue.size && !this.stopped) this.running = this.drain().finally(() => (this.running = undefined));
  }

  /** Tasks waiting to be announced. */
  get pending(): number {
    return this.queue.size;
  }

  stop(): void {
    this.stopped = true;
    this.queue.clear();
  }

  private async drain(): Promise<void> {
    const gap = this.options.gapMs ?? DEFAULT_RESUME_GAP_MS;
    let announced = 0;
    for (const taskId of this.queue) {
      if (this.stopped) return;
      this.queue.delete(taskId);
      this.triedAt.set(taskId, Date.now());
      await this.options.announce(taskId).then(
        () => announced++,
        (error) => this.options.log.debug('resuming a seed failed', { taskId, error }),
      );
      await new Promise((resolve) => setTimeout(resolve, gap * (0.5 + Math.random())).unref());
    }
    if (this.triedAt.size > 100_000) this.triedAt.clear();
    this.options.log.info('seeds resumed', { announced });
  }
}
