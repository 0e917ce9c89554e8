import type { Logger } from '../../core/log.ts';
import { parseOriginUrl } from '../../core/origin-url.ts';
import { digestTaskOf, packDigestTaskOf, planDigestJobs, type DigestDispatcher } from '../domain/digest.ts';
import type { ManifestStore } from '../domain/manifest.ts';
import type { Quarantine, TaskRecord, TaskStore } from '../domain/task.ts';
import { METRICS, type MetricEmitter } from '../shared/metrics.ts';

/** How long an S3 task stays quarantined at most while its digests are derived again (the digest service lifts it sooner). */
export const REDERIVE_QUARANTINE_MS = 10 * 60_000;
/** How long an HTTP(S) task stays quarantined before its next lease holder attests again. */
export const DEFAULT_ATTESTED_QUARANTINE_MS = 30_000;

export interface ManifestIncidentsOptions {
  readonly tasks: TaskStore;
  readonly manifests: ManifestStore;
  readonly log: Logger;
  readonly metrics?: MetricEmitter;
  /** Re-derives S3 manifests; absent, an S3 task stays quarantined until REDERIVE_QUARANTINE_MS passes. */
  readonly dispatcher?: DigestDispatcher;
  readonly attestedQuarantineMs?: number;
  readonly now?: () => number;
}

/**
 * A manifest incident: a digest that disagrees with a known one (never
 * first-writer-wins), a lease holder that read other bytes than the vouched
 * digest, or S3's own checksum disagreeing with the object. Each is an error
 * log line and a metric; the task is quarantined and its manifest cleared and
 * derived again (S3: the digest service runs again; HTTP(S): the next lease
 * holder attests once the quarantine ends).
 */
export class ManifestIncidents {
  private readonly now: () => number;

  constructor(private readonly options: ManifestIncidentsOptions) {
    this.now = options.now ?? Date.now;
  }

  async raise(task: TaskRecord, reason: Quarantine['reason'], context: Record<string, unknown>): Promise<void> {
    const { tasks, manifests, log, metrics, dispatcher } = this.options;
    const now = this.now();
    const s3 = task.url.startsWith('s3://') || task.pack !== undefined;
    log.error('manifest incident: task quarantined', { taskId: task.id, url: task.url, reason, ...context });
    metrics?.emit({ [METRICS.manifestIncidents]: { value: 1, unit: 'Count' } }, { taskId: task.id, reason, ...context });
    // A quarantine already under way is re-derived once, not once per report; a checksum one is final.
    const active = task.quarantine && task.quarantine.until > now;
    if (active && (task.quarantine!.reason === 'checksum' || reason !== 'checksum')) return;
    const until = reason === 'checksum' ? Number.MAX_SAFE_INTEGER : now + (s3 ? REDERIVE_QUARANTINE_MS : this.options.attestedQuarantineMs ?? DEFAULT_ATTESTED_QUARANTINE_MS);
    await tasks.setQuarantine(task.id, { reason, until });
    await manifests.clear(task.id);
    if (!s3 || reason === 'checksum' || !dispatcher) return;
    // A pack is derived again from its members, as its task was opened (scheduler/pack-service.ts).
    if (task.pack) return dispatcher.dispatch(planDigestJobs(packDigestTaskOf({ ...task, pack: task.pack })));
    const location = parseOriginUrl(task.url);
    if (location.kind !== 's3') return;
    await dispatcher.dispatch(planDigestJobs(digestTaskOf(task, location.bucket, location.key, location.versionId)));
  }
}
