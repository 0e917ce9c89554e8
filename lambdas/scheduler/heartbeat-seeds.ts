import type { Logger } from '../../core/log.ts';
import type { SeedPreference } from '../domain/back-to-source.ts';
import type { HostStore } from '../domain/host.ts';
import type { PreheatStore } from '../domain/preheat.ts';

export interface SeedTriggerOptions {
  readonly hosts: Pick<HostStore, 'liveSeeds'>;
  readonly preheat: Pick<PreheatStore, 'trigger'>;
  readonly log: Logger;
  /** A seed that has not heartbeaten for this long does not count. */
  readonly seedStaleMs: number;
  /** How long normal agents wait for a seed before one of them may read S3 itself. */
  readonly waitMs: number;
  /** How long this instance trusts what it read about seeds and triggers. */
  readonly cacheMs?: number;
}

/**
 * Seeds first for back-to-source: when a normal agent would be granted S3
 * while a live seed of its site exists, the scheduler instead opens a preheat
 * job for that seed (picked up with its next heartbeat) and the normal agent
 * waits, up to `waitMs`, until the seed joins the swarm as its parent. The
 * grant itself stays the conditional write, so the per-site limit holds.
 */
export class SeedTrigger implements SeedPreference {
  private readonly seeds = new Map<string, { at: number; live: Promise<boolean> }>();
  private readonly triggers = new Map<string, number>();

  constructor(private readonly options: SeedTriggerOptions) {}

  async deferToSeed(cluster: string, site: string, taskId: string, url: string, now: number): Promise<boolean> {
    if (!(await this.hasLiveSeed(cluster, site, now))) return false;
    const key = `${cluster}\n${taskId}\n${site}`;
    let openedAt = this.triggers.get(key);
    if (openedAt === undefined) {
      const trigger = await this.options.preheat.trigger(cluster, taskId, site, url, now);
      openedAt = trigger.createdAt;
      this.triggers.set(key, openedAt);
      if (this.triggers.size > 10_000) this.triggers.delete(this.triggers.keys().next().value!);
      if (trigger.created) this.options.log.info('asked a seed to fetch the task', { taskId, cluster, site, jobId: trigger.jobId });
    }
    return now - openedAt < this.options.waitMs;
  }

  private hasLiveSeed(cluster: string, site: string, now: number): Promise<boolean> {
    const key = `${cluster}\n${site}`;
    const hit = this.seeds.get(key);
    if (hit && now - hit.at < (this.options.cacheMs ?? 2_000)) return hit.live;
    const live = this.options.hosts.liveSeeds(cluster, now - this.options.seedStaleMs, site).then((found) => (found.get(site)?.length ?? 0) > 0);
    live.catch(() => this.seeds.delete(key));
    this.seeds.set(key, { at: now, live });
    return live;
  }
}
