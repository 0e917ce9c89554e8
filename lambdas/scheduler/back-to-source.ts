import type { SelectParentsOptions } from '../../core/parent-selection.ts';
import type { Logger } from '../../core/log.ts';
import { needsBackToSource, planBackToSource, type SeedPreference } from '../domain/back-to-source.ts';
import type { SourceGrantStore } from '../domain/grant.ts';
import type { PeerRecord } from '../domain/peer.ts';
import type { TaskRecord } from '../domain/task.ts';

export interface SourceRequest {
  readonly task: TaskRecord;
  readonly peerId: string;
  readonly seed: boolean;
  /** The announce's event, for the log. */
  readonly event?: string;
  readonly cluster: string;
  readonly site: string;
  /** The peers sampled for this announce, and how parents were chosen among them. */
  readonly candidates: readonly PeerRecord[];
  readonly selection: SelectParentsOptions;
  readonly limit: number;
  readonly leaseMs: number;
  readonly now: number;
}

/**
 * The grant-or-defer step of an announce: asks the pure rules in
 * domain/back-to-source.ts, fetching only the facts they need (a seed's coming,
 * the asker's lease), and takes a lease through the grant store's conditional write.
 */
export class BackToSource {
  constructor(private readonly deps: { grants: SourceGrantStore; seeds?: SeedPreference; log: Logger }) {}

  /** True when the asking agent may read the origin now. */
  async decide(request: SourceRequest): Promise<boolean> {
    const { task, peerId, site, now } = request;
    if (!needsBackToSource(request.candidates, request.selection, task.digestCount >= task.pieceCount)) return false;
    const log = this.deps.log.child({ taskId: task.id, peerId });
    // A pack is opened only by a tree pull that knows its members: no seed is asked to fetch one by URL.
    const seedComing = !request.seed && !task.pack && ((await this.deps.seeds?.deferToSeed(request.cluster, site, task.id, task.url, now)) ?? false);
    const holdsLease = seedComing && (await this.deps.grants.holds(task.id, site, peerId, now));
    if (planBackToSource({ seed: request.seed, seedComing, holdsLease }) === 'defer') {
      log.info('back-to-source left to a seed', { site });
      return false;
    }
    // The asker's own record as sampled, from before this announce: when the scheduler last heard it (leaseFor's stall rule).
    const lastHeardAt = request.candidates.find((peer) => peer.peerId === peerId)?.updatedAt;
    const outcome = await this.deps.grants.acquire(task.id, site, { peerId, lastHeardAt, limit: request.limit, leaseMs: request.leaseMs, now });
    // One line per grant a person cares about; the holder renews its lease on every announce.
    if (outcome === 'granted') log.info('back-to-source granted', { site, event: request.event });
    else if (outcome === 'renewed') log.debug('back-to-source lease renewed', { site, event: request.event });
    return outcome !== false;
  }

  /**
   * A holder that read every piece before the control plane's digests came keeps its lease
   * (renewed) until they do: its pieces reach the swarm once vouched for, and while it holds
   * them as the source no newcomer is granted a second read of S3. False for a peer holding no lease.
   */
  async keep(lease: { taskId: string; site: string; peerId: string; now: number; limit: number; leaseMs: number }): Promise<boolean> {
    const { taskId, site, peerId, now } = lease;
    if (!(await this.deps.grants.holds(taskId, site, peerId, now))) return false;
    return (await this.deps.grants.acquire(taskId, site, { peerId, limit: lease.limit, leaseMs: lease.leaseMs, now })) !== false;
  }

  /** A finished, failed or blocked peer gives its lease back, so another can take over. */
  release(taskId: string, site: string, peerIds: readonly string[]): Promise<unknown> {
    return Promise.all(peerIds.map((peerId) => this.deps.grants.release(taskId, site, peerId)));
  }
}
