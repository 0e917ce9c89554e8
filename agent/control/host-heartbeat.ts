import { hostname } from 'node:os';
import type { Logger } from '../../core/log.ts';
import { HOLDINGS_MAX, type HeartbeatRequest, type HeartbeatResponse, type PreheatAssignment, type PreheatReport } from '../../core/wire/manager.ts';
import type { SchedulerClient } from './scheduler-client.ts';

export interface HostLoad {
  readonly uploads: number;
  readonly activeTasks: number;
  readonly cacheBytes: number;
}

export interface HostHeartbeatOptions {
  /** The scheduler's client (the heartbeat is one of its calls). */
  readonly scheduler: Pick<SchedulerClient, 'heartbeat'>;
  readonly identity: { readonly peerId: string; readonly cluster: string; readonly site: string; readonly seed: boolean; readonly addr: string };
  readonly version?: string;
  readonly load: () => HostLoad;
  /** Reports to send with the next beat; returned to the caller's queue if the beat fails. */
  readonly takeReports: () => PreheatReport[];
  readonly returnReports: (reports: PreheatReport[]) => void;
  readonly onAssignments: (jobs: PreheatAssignment[]) => void;
  /** Task ids of the complete tasks this host seeds; sent when they change and on the scheduler's holdings interval. */
  readonly holdings?: () => readonly string[];
  /** Held tasks the scheduler has no record of: to be announced (spread out). */
  readonly onUnknownHoldings?: (taskIds: string[]) => void;
  readonly log: Logger;
}

/**
 * The host heartbeat: tells the scheduler this host's site, role and load
 * (the manager lists hosts from it) and, for seeds, carries preheat jobs in
 * both directions: outcomes up, new jobs down. It also carries the host's
 * holdings, so seeding costs one request per beat whatever the cache holds
 * (sent only once the scheduler said it takes them: an older one refuses the field).
 * The intervals are the scheduler's.
 */
export class HostHeartbeat {
  private intervalMs = 5_000;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = true;
  private warned = false;
  private holdingsIntervalMs?: number;
  private holdingsSent = { at: 0, key: '' };

  constructor(private readonly options: HostHeartbeatOptions) {}

  start(): void {
    this.stopped = false;
    this.poke();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Beat now (e.g. a preheat finished), then continue on the interval. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.running = this.beat()
      .then(
        () => {
          this.warned = false;
        },
        (error) => {
          if (!this.warned) this.options.log.warn('heartbeat failed', { error });
          this.warned = true;
        },
      )
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        this.timer = setTimeout(() => this.poke(), this.intervalMs);
        this.timer.unref();
      });
  }

  private async beat(): Promise<void> {
    const { identity } = this.options;
    const reports = this.options.takeReports();
    const load = this.options.load();
    const holdings = this.dueHoldings();
    const request: HeartbeatRequest = {
      peerId: identity.peerId,
      cluster: identity.cluster,
      site: identity.site,
      seed: identity.seed,
      addr: identity.addr,
      hostname: hostname().slice(0, 255),
      ...(this.options.version ? { version: this.options.version } : {}),
      uploads: load.uploads,
      activeTasks: load.activeTasks,
      cacheBytes: load.cacheBytes,
      ...(reports.length ? { preheat: reports } : {}),
      ...(holdings ? { holdings: holdings.ids } : {}),
    };
    let answer: HeartbeatResponse;
    try {
      answer = await this.options.scheduler.heartbeat(request);
    } catch (error) {
      this.options.returnReports(reports);
      throw error;
    }
    this.intervalMs = Math.max(250, Math.min(60_000, answer.intervalMs));
    if (holdings) this.holdingsSent = { at: Date.now(), key: holdings.key };
    this.holdingsIntervalMs = answer.holdingsIntervalMs;
    if (answer.unknownHoldings?.length) this.options.onUnknownHoldings?.(answer.unknownHoldings);
    if (answer.preheat.length) this.options.onAssignments(answer.preheat);
  }

  /** The holdings to send with this beat: when they changed, or the scheduler's interval has passed. */
  private dueHoldings(): { ids: string[]; key: string } | undefined {
    if (!this.options.holdings || this.holdingsIntervalMs === undefined) return undefined;
    const ids = this.options.holdings().slice(0, HOLDINGS_MAX);
    const key = ids.join(',');
    if (ids.length === 0 && this.holdingsSent.key === '') return undefined;
    if (key === this.holdingsSent.key && Date.now() - this.holdingsSent.at < this.holdingsIntervalMs) return undefined;
    return { ids, key };
  }
}
