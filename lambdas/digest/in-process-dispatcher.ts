import type { Logger } from '../../core/log.ts';
import type { DigestDispatcher, DigestJob } from '../domain/digest.ts';
import type { DigestRun } from './digest-service.ts';

/** Digest jobs at once in one Node scheduler: each is one streaming GET and one hash, so a few keep a core busy. */
export const DEFAULT_DIGEST_CONCURRENCY = 2;

/**
 * The Node scheduler's dispatcher (local stack, self-hosted): runs jobs in this
 * process, at most `concurrency` at once, queueing the rest. Failures are
 * logged, not thrown: the task stays served by the lease holder's reads, whose
 * pieces wait for digests (and a later incident or re-derivation retries).
 */
export class InProcessDigestDispatcher implements DigestDispatcher {
  private readonly queue: DigestJob[] = [];
  /** Jobs queued or running, by task and first piece: the same job dispatched again meanwhile is not run twice. */
  private readonly known = new Set<string>();
  private active = 0;
  private idle: Array<() => void> = [];

  constructor(
    private readonly run: (job: DigestJob) => Promise<DigestRun>,
    private readonly log: Logger,
    private readonly concurrency = DEFAULT_DIGEST_CONCURRENCY,
  ) {}

  async dispatch(jobs: readonly DigestJob[]): Promise<void> {
    for (const job of jobs) {
      const key = jobKey(job);
      if (this.known.has(key)) continue;
      this.known.add(key);
      // A pack (many small objects, at most 16 MiB) goes before big objects' jobs: a tree's many files
      // are otherwise vouched only after its shards are hashed, and their pulls stall meanwhile.
      const firstBig = job.members ? this.queue.findIndex((queued) => !queued.members) : -1;
      this.queue.splice(firstBig === -1 ? this.queue.length : firstBig, 0, job);
    }
    this.pump();
  }

  /** Resolves once no job is queued or running (tests, benches). */
  settled(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.active < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.active++;
      this.run(job)
        .catch((error) => this.log.error('digest job failed', { taskId: job.taskId, first: job.first, count: job.count, error }))
        .finally(() => {
          this.known.delete(jobKey(job));
          this.active--;
          this.pump();
          if (this.active === 0 && this.queue.length === 0) for (const resolve of this.idle.splice(0)) resolve();
        });
    }
  }
}

function jobKey(job: DigestJob): string {
  return `${job.taskId}:${job.first}:${job.count}`;
}
