import { DEFAULTS } from '../../core/constants.ts';
import { NotFoundError } from '../../core/errors.ts';
import type { ClusterSettingsSource } from '../domain/cluster.ts';

export interface SchedulerSettings {
  readonly parentLimit: number;
  readonly backToSourceLimit: number;
  readonly sourceLeaseMs: number;
  /** No longer read: every lookup by URL confirms the object's version with the origin (task-resolver.ts). */
  readonly originRecheckMs: number;
  /**
   * `bucket/prefix` entries an S3 task URL must start with (undefined allows every bucket);
   * `http(s)://host[:port]/prefix` entries admit HTTP(S) URLs, which are denied without one.
   */
  readonly allowedOrigins?: readonly string[];
}

/** The settings one announce runs with: the scheduler's, overridden by its cluster's. */
export type EffectiveSettings = SchedulerSettings & { readonly minAnnounceIntervalMs?: number };

export const DEFAULT_SCHEDULER_SETTINGS: SchedulerSettings = {
  parentLimit: DEFAULTS.parentLimit,
  backToSourceLimit: DEFAULTS.backToSourceLimit,
  sourceLeaseMs: DEFAULTS.sourceLeaseMs,
  originRecheckMs: DEFAULTS.originRecheckMs,
};

/**
 * `base` with the fields the operator set for `cluster` (unset fields keep the scheduler's).
 * NotFoundError for a cluster the operator never created (other than the default), unless
 * a deployment-wide allowlist is set (AWS: MAYFLY_ALLOWED_ORIGINS), which then applies:
 * an unknown cluster must never mean "no allowlist".
 */
export async function settingsFor(base: SchedulerSettings, clusters: ClusterSettingsSource | undefined, cluster: string): Promise<EffectiveSettings> {
  const custom = await clusters?.get(cluster);
  if (!custom) {
    if (clusters && cluster !== DEFAULTS.site && base.allowedOrigins === undefined) {
      throw new NotFoundError(`no cluster named ${cluster}`, { context: { cluster } });
    }
    return base;
  }
  const defined = Object.fromEntries(Object.entries(custom).filter(([, value]) => value !== undefined));
  return { ...base, ...defined };
}
