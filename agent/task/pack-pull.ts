import { BadRequestError, NotFoundError, TooManyRequestsError, UnavailableError } from '../../core/errors.ts';
import { packProblem, packTaskInfo } from '../../core/pack.ts';
import type { PackRequest } from '../../core/wire/pack.ts';
import type { SchedulerClient } from '../control/scheduler-client.ts';
import { jitteredBackoff, sleep } from '../http/retry.ts';
import type { PullResult, TaskManager } from './task-manager.ts';

/** What a pack pull answers: the pull's result, and the pack's URL to read its bytes at (GET /v1/objects). */
export interface PackPullResult extends PullResult {
  readonly taskId: string;
  readonly size: number;
}

/**
 * Pulls a pack of a tree's small objects (core/pack.ts) into the cache as one task:
 * the scheduler opens it (POST /v1/packs: allowlist for every member, digests from the
 * members in S3), then the pull joins its swarm like any task; the holder of its
 * back-to-source grant reads the members with one presigned GET each, pinned to the
 * listed ETags. With the scheduler unreachable the pack is still one pull, which rides
 * out the outage like any S3 pull (swarm-entry.ts) and may end up reading the members
 * with this host's own credentials: falling apart into one pull per member would put
 * 64 times the requests on a control plane that is already failing. An open that failed
 * while the announce got through (the scheduler answers "unknown pack") is tried again.
 * Errors as a pull's.
 */
export async function pullPack(tasks: TaskManager, scheduler: SchedulerClient, request: PackRequest, signal?: AbortSignal): Promise<PackPullResult> {
  const problem = packProblem(request.members);
  if (problem) throw new BadRequestError(problem);
  const expected = packTaskInfo(request.bucket, request.members);
  const location = { kind: 's3' as const, bucket: request.bucket, key: '', pack: request.members };
  let opened = await openPack(scheduler, request, expected);
  for (let attempt = 1; ; attempt++) {
    try {
      const { result } = await tasks.pull(expected.url, undefined, signal, location);
      return { ...result, taskId: expected.id, size: expected.size };
    } catch (error) {
      // The open failed (429, 503, a timeout) but the announce got through: the scheduler does not know the pack yet.
      if (opened || !unknownToScheduler(error) || attempt >= MAX_PULLS || signal?.aborted) throw error;
      await sleep(jitteredBackoff(500, attempt), signal); // the scheduler was throttling or failing a moment ago
      opened = await openPack(scheduler, request, expected);
    }
  }
}

/** Pulls of one pack while its open keeps failing. */
const MAX_PULLS = 3;

/** The scheduler's 404 (errorFromWire keeps the status); a member gone from S3 is a NotFoundError without one, and is not retried. */
function unknownToScheduler(error: unknown): boolean {
  return error instanceof NotFoundError && error.context.status === 404;
}

/** POST /v1/packs; false when the scheduler is unavailable or throttling (the pull then goes on without it). */
async function openPack(scheduler: SchedulerClient, request: PackRequest, expected: ReturnType<typeof packTaskInfo>): Promise<boolean> {
  try {
    const task = await scheduler.openPack(request);
    // The id is computed from the members here too: a scheduler cannot hand out another pack's task for them.
    if (task.id !== expected.id || task.size !== expected.size || task.url !== expected.url) throw new BadRequestError('the scheduler answered another pack than the one asked for');
    return true;
  } catch (error) {
    if (!(error instanceof UnavailableError) && !(error instanceof TooManyRequestsError)) throw error;
    return false;
  }
}
