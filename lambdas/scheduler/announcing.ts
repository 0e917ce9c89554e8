import { DEFAULTS } from '../../core/constants.ts';
import type { AnnounceRequest } from '../../core/wire/scheduler.ts';
import { announceIntervalFor, heartbeatIntervalFor } from './intervals.ts';
import type { Resolved, TaskResolver } from './task-resolver.ts';

/** One announce, once resolved: who asks, about which task (allowlist passed), where and when. */
export interface Announcing extends Resolved {
  readonly request: AnnounceRequest;
  readonly site: string;
  /** Epoch ms the announce is answered at. */
  readonly now: number;
  /** Pieces the peer holds, capped at the task's piece count. */
  readonly completed: number;
  readonly finished: boolean;
  /** The swarm's announce interval; a finished peer is told the longer heartbeat interval (`intervalMs`) once every digest is known. */
  readonly swarmIntervalMs: number;
  readonly intervalMs: number;
}

/** Resolves the announced URL to its task for the agent's cluster, and derives what the rest of the announce needs. */
export async function resolveAnnounce(resolver: TaskResolver, request: AnnounceRequest, clock: () => number): Promise<Announcing> {
  const resolved = await resolver.resolve(request.url, request.cluster ?? DEFAULTS.site, request.taskId, request.registryProof);
  const { task, settings } = resolved;
  const completed = Math.min(request.completed ?? 0, task.pieceCount);
  const finished = request.event === 'finished' || completed === task.pieceCount;
  const swarmIntervalMs = Math.max(settings.minAnnounceIntervalMs ?? 0, announceIntervalFor(task.peerCount));
  // A peer holding every piece before the digests are known (it read them from the origin) keeps the
  // swarm's pace: it renews its back-to-source lease until its pieces can be vouched for.
  const intervalMs = finished && task.digestCount >= task.pieceCount ? heartbeatIntervalFor(swarmIntervalMs) : swarmIntervalMs;
  return { ...resolved, request, site: request.site ?? DEFAULTS.site, now: clock(), completed, finished, swarmIntervalMs, intervalMs };
}
