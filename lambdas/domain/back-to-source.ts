import { hasCompleteSource, type PeerCandidate, type SelectParentsOptions } from '../../core/parent-selection.ts';

/**
 * Whether an announcing agent needs someone to read the origin: only when no
 * credible complete source is reachable. Starvation alone is no reason to read
 * S3 while one is. A peer claiming to be finished before the manifest is complete
 * cannot be (its pieces would be unverifiable), so it does not count until then.
 */
export function needsBackToSource(candidates: readonly PeerCandidate[], selection: SelectParentsOptions, manifestComplete: boolean): boolean {
  const credible = manifestComplete ? candidates : candidates.filter((peer) => !peer.finished || peer.source);
  return !hasCompleteSource(credible, selection);
}

/** What the asking agent is told about back-to-source. */
export type SourcePlan = 'defer' | 'acquire';

export interface SourceFacts {
  /** The asking agent is a seed (seeds never wait for seeds). */
  readonly seed: boolean;
  /** A live seed of the site has been asked to fetch the task and may still join. */
  readonly seedComing: boolean;
  /** The asking agent already holds a lease (a holder keeps renewing it). */
  readonly holdsLease: boolean;
}

/** Seeds first: only a newcomer that is no seed waits for a coming seed; everyone else tries for a lease. */
export function planBackToSource(facts: SourceFacts): SourcePlan {
  return !facts.seed && facts.seedComing && !facts.holdsLease ? 'defer' : 'acquire';
}

/** Seeds first for back-to-source: whether a normal agent should leave it to a live seed of its site. */
export interface SeedPreference {
  /** True while a live seed of (cluster, site) has been asked to fetch the task and may still join. */
  deferToSeed(cluster: string, site: string, taskId: string, url: string, now: number): Promise<boolean>;
}
