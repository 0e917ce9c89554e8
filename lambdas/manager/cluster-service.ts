import { DEFAULTS } from '../../core/constants.ts';
import { NotFoundError } from '../../core/errors.ts';
import type { PutClusterRequest } from '../../core/wire/manager.ts';
import type { ClusterRecord, ClusterStore } from '../domain/cluster.ts';

/** Clusters and the settings the scheduler honours (it re-reads them within a few seconds). */
export class ClusterService {
  constructor(private readonly store: ClusterStore, private readonly now: () => number = Date.now) {}

  /** Every stored cluster; the default cluster is always listed, with no settings until set. */
  async list(): Promise<ClusterRecord[]> {
    const clusters = await this.store.list();
    if (!clusters.some((cluster) => cluster.name === DEFAULTS.site)) {
      clusters.unshift({ name: DEFAULTS.site, description: 'agents that name no cluster', settings: {}, updatedAt: 0 });
    }
    return clusters;
  }

  async get(name: string): Promise<ClusterRecord> {
    const cluster = await this.store.get(name);
    if (cluster) return cluster;
    if (name === DEFAULTS.site) return { name, description: 'agents that name no cluster', settings: {}, updatedAt: 0 };
    throw new NotFoundError(`no cluster named ${name}`, { context: { cluster: name } });
  }

  async put(name: string, request: PutClusterRequest): Promise<ClusterRecord> {
    const record: ClusterRecord = { name, description: request.description ?? '', settings: request.settings, updatedAt: this.now() };
    await this.store.put(record);
    return record;
  }

  async delete(name: string): Promise<void> {
    await this.get(name);
    await this.store.delete(name);
  }
}
