import { MayflyError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { PreheatAssignment, PreheatReport } from '../../core/wire/manager.ts';
import type { PullResult } from './task-manager.ts';

export interface PreheatWorkerOptions {
  /** The agent's own pull (TaskManager.pull): P2P first, S3 when granted. */
  readonly pull: (url: string) => Promise<{ result: PullResult }>;
  readonly log: Logger;
  /** Called when a report is ready, so the heartbeat can carry it at once. */
  readonly onReport: () => void;
  readonly concurrency?: number;
  /** Tries per job before it is reported failed (default 4). */
  readonly attempts?: number;
  /** Pause before the second try; doubled for each later one (default 2 s). */
  readonly retryDelayMs?: number;
}

/**
 * Failures another try cannot fix. IntegrityFailure: a whole object (a registry blob) hashed to
 * other bytes than its digest; the origin serves the same bytes again (a piece from a bad peer
 * is retried inside the pull, never thrown).
 */
const PERMANENT = new Set(['NotFound', 'Forbidden', 'Unauthorized', 'BadRequest', 'PayloadTooLarge', 'IntegrityFailure']);

/**
 * A seed's preheat jobs: pulls each assigned object into the cache through
 * the normal pull path, then reports the outcome with the next heartbeat.
 * Jobs are keyed by id, so an assignment repeated while it runs is ignored.
 */
export class PreheatWorker {
  private readonly queued: PreheatAssignment[] = [];
  private readonly running = new Set<string>();
  private readonly finished = new Map<string, PreheatReport>();
  private reports: PreheatReport[] = [];
  private stopped = false;

  constructor(private readonly options: PreheatWorkerOptions) {}

  accept(jobs: readonly PreheatAssignment[]): void {
    for (const job of jobs) {
      const done = this.finished.get(job.jobId);
      if (done) {
        // The scheduler did not get the report yet: send it again.
        if (!this.reports.some((report) => report.jobId === job.jobId)) this.reports.push(done);
        continue;
      }
      if (this.running.has(job.jobId) || this.queued.some((queued) => queued.jobId === job.jobId)) continue;
      this.queued.push(job);
    }
    this.drain();
  }

  takeReports(): PreheatReport[] {
    const reports = this.reports;
    this.reports = [];
    return reports;
  }

  returnReports(reports: readonly PreheatReport[]): void {
    this.reports.unshift(...reports);
  }

  get active(): number {
    return this.running.size;
  }

  stop(): void {
    this.stopped = true;
    this.queued.length = 0;
  }

  /**
   * A preheat runs unattended, so a transient failure (S3 throttling or down, the
   * network) is retried with growing pauses; a permanent one (no such object, not
   * allowed, a bad URL) is reported at once.
   */
  private async pullWithRetries(url: string, log: Logger): Promise<{ result: PullResult }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.options.pull(url);
      } catch (error) {
        const code = error instanceof MayflyError ? error.code : undefined;
        if (attempt >= this.attempts || (code !== undefined && PERMANENT.has(code)) || this.stopped) throw error;
        const pauseMs = this.retryDelayMs * 2 ** (attempt - 1);
        log.warn('preheat attempt failed; retrying', { attempt, pauseMs, error });
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
        if (this.stopped) throw error;
      }
    }
  }

  private get attempts(): number {
    return this.options.attempts ?? 4;
  }

  private get retryDelayMs(): number {
    return this.options.retryDelayMs ?? 2_000;
  }

  private drain(): void {
    while (!this.stopped && this.queued.length && this.running.size < (this.options.concurrency ?? 2)) {
      const job = this.queued.shift()!;
      this.running.add(job.jobId);
      const log = this.options.log.child({ jobId: job.jobId, url: job.url });
      log.info('preheat started');
      this.pullWithRetries(job.url, log)
        .then(
          ({ result }): PreheatReport => {
            log.info('preheat finished', { taskId: result.taskId, bytesFromPeers: result.bytesFromPeers, bytesFromOrigin: result.bytesFromOrigin });
            return { jobId: job.jobId, state: 'done', taskId: result.taskId };
          },
          (error): PreheatReport => {
            log.warn('preheat failed', { error, attempts: this.attempts });
            const message = error instanceof MayflyError ? error.message : 'internal error';
            return { jobId: job.jobId, state: 'failed', error: message.slice(0, 512) };
          },
        )
        .then((report) => {
          this.running.delete(job.jobId);
          this.finished.set(job.jobId, report);
          if (this.finished.size > 1000) this.finished.delete(this.finished.keys().next().value!);
          this.reports.push(report);
          this.options.onReport();
          this.drain();
        });
    }
  }
}
