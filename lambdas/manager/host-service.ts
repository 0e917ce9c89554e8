import type { HostRecord, HostStore } from '../domain/host.ts';

export interface HostView extends Omit<HostRecord, 'lastSeen'> {
  readonly role: 'seed' | 'normal';
  readonly lastSeen: string;
  /** Heartbeat seen within `liveMs`. */
  readonly live: boolean;
}

/** Hosts as their heartbeats left them: site, role, load, last seen. */
export class HostService {
  constructor(
    private readonly store: Pick<HostStore, 'list'>,
    private readonly liveMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async list(cluster: string): Promise<HostView[]> {
    const now = this.now();
    const hosts = await this.store.list(cluster);
    return hosts
      .map((host) => ({
        ...host,
        role: host.seed ? ('seed' as const) : ('normal' as const),
        lastSeen: new Date(host.lastSeen).toISOString(),
        live: now - host.lastSeen <= this.liveMs,
      }))
      .sort((a, b) => a.site.localeCompare(b.site) || a.peerId.localeCompare(b.peerId));
  }
}
