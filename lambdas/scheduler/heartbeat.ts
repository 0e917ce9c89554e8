import { DEFAULTS } from '../../core/constants.ts';
import type { Logger } from '../../core/log.ts';
import type { HeartbeatRequest, HeartbeatResponse, PreheatAssignment } from '../../core/wire/manager.ts';
import type { HostStore } from '../domain/host.ts';
import type { PreheatStore } from '../domain/preheat.ts';
import type { SeederStore } from '../domain/seeder.ts';
import { isPreheatDone, openForSite } from '../domain/preheat-job.ts';

export interface HeartbeatServiceOptions {
  readonly hosts: Pick<HostStore, 'put'>;
  readonly preheat: Pick<PreheatStore, 'queued' | 'claim' | 'recordSiteDone' | 'markQueuedSiteDone' | 'transition' | 'dequeue'>;
  readonly log: Logger;
  /** Refreshes seeders' finished peer records from their holdings; absent, holdings are not asked for. */
  readonly seeders?: SeederStore;
  /** How often agents are told to send their holdings (default 30 s); their records are stale after three missed. */
  readonly holdingsIntervalMs?: number;
  /** How often agents are told to heartbeat. */
  readonly intervalMs?: number;
  /** Preheat jobs handed to one seed per heartbeat. */
  readonly maxAssignments?: number;
  readonly now?: () => number;
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;
export const DEFAULT_HOLDINGS_INTERVAL_MS = 30_000;

/**
 * Host heartbeats: records the host (site, role, load) for the manager, takes
 * seeds' reports on preheat jobs, and hands seeds the open jobs of their site.
 * A job is leased to one seed per site; the holder renews the lease with
 * every heartbeat, so a seed that dies releases it after three missed beats.
 * Which job state follows a report is domain/preheat-job.ts's rule.
 *
 * A heartbeat also carries the host's holdings (complete tasks it seeds), so an
 * idle host costs one request per beat however many tasks it holds: their
 * finished records are refreshed in one batch, and the answer names the held
 * tasks that have no record (the host announces those once, spread out).
 */
export class HeartbeatService {
  readonly intervalMs: number;
  readonly holdingsIntervalMs: number;
  private readonly now: () => number;

  constructor(private readonly deps: HeartbeatServiceOptions) {
    this.intervalMs = deps.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.holdingsIntervalMs = Math.max(this.intervalMs, deps.holdingsIntervalMs ?? DEFAULT_HOLDINGS_INTERVAL_MS);
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
        const state = await this.siteDone(cluster, report.jobId, site, request.peerId, report.taskId, now);
        log.info('preheat pulled by seed', { jobId: report.jobId, taskId: report.taskId, jobState: state });
      } else {
        await this.deps.preheat.transition(cluster, report.jobId, 'failed', now, report.error ?? 'the seed could not pull the object');
        await this.deps.preheat.dequeue(cluster, report.jobId);
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

    const unknownHoldings = await this.refreshHoldings(request, now);

    const assignments: PreheatAssignment[] = [];
    if (seed) {
      const reported = new Set((request.preheat ?? []).map((report) => report.jobId));
      const leaseMs = 3 * this.intervalMs + 5_000;
      for (const job of await this.deps.preheat.queued(cluster)) {
        if (assignments.length >= (this.deps.maxAssignments ?? 8)) break;
        if (reported.has(job.id) || !openForSite(job, site)) continue;
        if (!(await this.deps.preheat.claim(cluster, job.id, site, request.peerId, leaseMs, now))) continue;
        await this.deps.preheat.transition(cluster, job.id, 'running', now);
        assignments.push({ jobId: job.id, url: job.url });
      }
    }
    return {
      intervalMs: this.intervalMs,
      preheat: assignments,
      ...(this.deps.seeders ? { holdingsIntervalMs: this.holdingsIntervalMs } : {}),
      ...(unknownHoldings.length ? { unknownHoldings } : {}),
    };
  }

  /** Refreshes the sender's finished records of its holdings; returns the held tasks it has none for. */
  private async refreshHoldings(request: HeartbeatRequest, now: number): Promise<string[]> {
    if (!this.deps.seeders || !request.holdings?.length || !request.addr) return [];
    const refresh = { peerId: request.peerId, addr: request.addr, uploads: request.uploads ?? 0, updatedAt: now, intervalMs: this.holdingsIntervalMs };
    return this.deps.seeders.refresh(refresh, request.holdings, DEFAULTS.peerTtlSeconds);
  }

  /** Records a site's seed holding the object; the job is done, and leaves the queue, once every target site has it. */
  private async siteDone(cluster: string, jobId: string, site: string, peerId: string, taskId: string | undefined, now: number): Promise<string> {
    const job = await this.deps.preheat.recordSiteDone(cluster, jobId, site, peerId, taskId, now);
    if (!job) return 'unknown';
    if (!isPreheatDone(job)) {
      await this.deps.preheat.markQueuedSiteDone(cluster, jobId, site, peerId);
      return job.state;
    }
    await this.deps.preheat.transition(cluster, jobId, 'done', now);
    await this.deps.preheat.dequeue(cluster, jobId);
    return 'done';
  }
}
