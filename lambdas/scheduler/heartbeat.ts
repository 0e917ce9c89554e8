import { DEFAULTS } from '../../core/constants.ts';
import type { Logger } from '../../core/log.ts';
import type { HeartbeatRequest, HeartbeatResponse, PreheatAssignment } from '../../core/wire/manager.ts';
import type { DynamoHostStore } from '../stores/host-store.ts';
import type { DynamoPreheatStore } from '../stores/preheat-store.ts';

export interface HeartbeatServiceOptions {
  readonly hosts: Pick<DynamoHostStore, 'put'>;
  readonly preheat: Pick<DynamoPreheatStore, 'pending' | 'claim' | 'complete' | 'fail'>;
  readonly log: Logger;
  /** How often agents are told to heartbeat. */
  readonly intervalMs?: number;
  /** Preheat jobs handed to one seed per heartbeat. */
  readonly maxAssignments?: number;
  readonly now?: () => number;
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;

/**
 * Host heartbeats: records the host (site, role, load) for the manager, takes
 * seeds' reports on preheat jobs, and hands seeds the open jobs of their site.
 * A job is leased to one seed per site; the holder renews the lease with
 * every heartbeat, so a seed that dies releases it after three missed beats.
 */
export class HeartbeatService {
  readonly intervalMs: number;
  private readonly now: () => number;

  constructor(private readonly deps: HeartbeatServiceOptions) {
    this.intervalMs = deps.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.now = deps.now ?? Date.now;
  }

  async heartbeat(request: HeartbeatRequest): Promise<HeartbeatResponse> {
    const now = this.now();
    const cluster = request.cluster ?? DEFAULTS.site;
    const site = request.site ?? DEFAULTS.site;
    const seed = request.seed ?? false;
    const log = this.deps.log.child({ peerId: request.peerId, cluster, site });

    for (const report of request.preheat ?? []) {
      if (report.state === 'done') {
        const job = await this.deps.preheat.complete(cluster, report.jobId, site, request.peerId, report.taskId, now);
        log.info('preheat pulled by seed', { jobId: report.jobId, taskId: report.taskId, jobState: job?.state ?? 'unknown' });
      } else {
        await this.deps.preheat.fail(cluster, report.jobId, report.error ?? 'the seed could not pull the object', now);
        log.warn('preheat failed on seed', { jobId: report.jobId, reason: report.error });
      }
    }

    await this.deps.hosts.put({
      peerId: request.peerId,
      cluster,
      site,
      seed,
      addr: request.addr ?? '',
      hostname: request.hostname ?? '',
      version: request.version ?? '',
      uploads: request.uploads ?? 0,
      activeTasks: request.activeTasks ?? 0,
      cacheBytes: request.cacheBytes ?? 0,
      lastSeen: now,
    });

    const assignments: PreheatAssignment[] = [];
    if (seed) {
      const reported = new Set((request.preheat ?? []).map((report) => report.jobId));
      const leaseMs = 3 * this.intervalMs + 5_000;
      for (const job of await this.deps.preheat.pending(cluster, site)) {
        if (assignments.length >= (this.deps.maxAssignments ?? 8)) break;
        if (reported.has(job.id)) continue;
        if (await this.deps.preheat.claim(cluster, job.id, site, request.peerId, leaseMs, now)) assignments.push({ jobId: job.id, url: job.url });
      }
    }
    return { intervalMs: this.intervalMs, preheat: assignments };
  }
}
