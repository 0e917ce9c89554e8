import type { PreheatState } from '../../core/wire/manager.ts';

/**
 * The preheat job's state machine:
 *
 *   pending ──claim──► running ──every target site done──► done
 *      │                  │
 *      └──────────────────┴──a seed reports failure──► failed ──a site done later──► done
 *
 * A job is created pending. A seed's claim is a lease (see PreheatStore.claim);
 * when its holder dies the lease runs out and another seed of the site claims
 * it again, which is how a job is retried: it stays running meanwhile. Done is final.
 */
const ALLOWED_FROM: Readonly<Record<PreheatState, readonly PreheatState[]>> = {
  pending: [],
  running: ['pending'],
  done: ['pending', 'running', 'failed', 'done'],
  failed: ['pending', 'running', 'failed'],
};

/** The states a job may move to `to` from (pending is only ever a job's first state). */
export function allowedFrom(to: PreheatState): readonly PreheatState[] {
  return ALLOWED_FROM[to];
}

export function canTransition(from: PreheatState, to: PreheatState): boolean {
  return ALLOWED_FROM[to].includes(from);
}

/** Done once a seed of every target site holds the object; a job for no particular site, once any seed does. */
export function isPreheatDone(job: { readonly sites: readonly string[]; readonly doneBy: Readonly<Record<string, string>> }): boolean {
  return job.sites.length === 0 ? Object.keys(job.doneBy).length > 0 : job.sites.every((site) => job.doneBy[site]);
}

/** Whether a seed of `site` may take the open job: targeted at its site (or any), not yet done there. */
export function openForSite(job: { readonly sites: readonly string[]; readonly doneSites: readonly string[] }, site: string): boolean {
  if (job.sites.length > 0 && !job.sites.includes(site)) return false;
  return !job.doneSites.includes(site);
}

/**
 * A prefix job's state from its items' counts: running until every item is
 * done or failed; then done when none failed, failed (with how many) otherwise.
 * An item that fails and is done later counts as done (done is final).
 */
export function prefixJobState(counts: { readonly itemCount: number; readonly itemsDone: number; readonly itemsFailed: number }): { state: PreheatState; error?: string } {
  if (counts.itemsDone + counts.itemsFailed < counts.itemCount) return { state: 'running' };
  if (counts.itemsFailed === 0) return { state: 'done' };
  return { state: 'failed', error: `${counts.itemsFailed} of ${counts.itemCount} objects failed` };
}
