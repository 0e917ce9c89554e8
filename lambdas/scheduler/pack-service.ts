import { originAllowed } from '../../core/allowlist.ts';
import { DEFAULTS } from '../../core/constants.ts';
import { ForbiddenError } from '../../core/errors.ts';
import { parseOriginUrl } from '../../core/origin-url.ts';
import { packTaskInfo } from '../../core/pack.ts';
import type { PackRequest } from '../../core/wire/pack.ts';
import type { TaskInfo } from '../../core/wire/scheduler.ts';
import type { ClusterSettingsSource } from '../domain/cluster.ts';
import { packDigestTaskOf, planDigestJobs, type DigestDispatcher } from '../domain/digest.ts';
import type { Caller } from '../domain/identity.ts';
import type { PackRecord, TaskRecord, TaskStore } from '../domain/task.ts';
import { toTaskInfo } from './answers.ts';
import { settingsFor, type SchedulerSettings } from './settings.ts';

export interface PackServiceOptions {
  readonly tasks: TaskStore;
  readonly settings: SchedulerSettings;
  readonly clusters?: ClusterSettingsSource;
  /** Hashes the pack's pieces from its members in S3; absent, nothing is dispatched. */
  readonly digests?: DigestDispatcher;
  readonly now: () => number;
}

/** A pack's manifest still incomplete this long after the pack was opened lost its digest dispatch: dispatch again (jobs are idempotent). */
const DIGEST_REDISPATCH_MS = 5 * 60_000;

/** Whether a cluster's allowlist admits every member of a pack (a pack is refused whole, never narrowed). */
export function packAllowed(pack: PackRecord, entries: readonly string[] | undefined): boolean {
  return pack.members.every((member) => originAllowed({ kind: 's3', bucket: pack.bucket, key: member.key }, entries));
}

/** Whether a cluster's allowlist admits a task: its URL, or, for a pack, every member. */
export function taskAllowed(task: TaskRecord, entries: readonly string[] | undefined): boolean {
  return task.pack ? packAllowed(task.pack, entries) : originAllowed(parseOriginUrl(task.url), entries);
}

/**
 * Packs of a tree's small objects (core/pack.ts), each one shared task: the first host
 * to open a pack creates its task (one conditional write) and has the control plane
 * hash its pieces from the members in S3, each read pinned to the member's listed ETag;
 * every other host finds it stored. No HEAD per member: the ETags come from the
 * tree's fresh listing, and a member changed since fails its pinned reads (412), so
 * the pack never mixes versions and the tree pulls that object again on its own.
 */
export class PackService {
  constructor(private readonly deps: PackServiceOptions) {}

  /** BadRequestError for a malformed pack; ForbiddenError when the allowlist does not admit every member. */
  async open(request: PackRequest, caller: Caller): Promise<TaskInfo> {
    const identity = caller.identity;
    const cluster = identity.kind === 'agent' ? identity.cluster : DEFAULTS.site;
    const settings = await settingsFor(this.deps.settings, this.deps.clusters, cluster);
    const pack: PackRecord = { bucket: request.bucket, members: request.members };
    // Checked before anything is stored or read: a pack with one key outside the allowlist is refused whole.
    const outside = pack.members.find((member) => !originAllowed(parseOriginUrl(`s3://${pack.bucket}/${encodeURIComponent(member.key)}`), settings.allowedOrigins));
    if (outside) {
      throw new ForbiddenError(`s3://${pack.bucket}/${outside.key} is outside this cluster's allowed origins; a pack is admitted only whole`, { context: { bucket: pack.bucket } });
    }
    const info = packTaskInfo(pack.bucket, pack.members);
    const now = this.deps.now();
    const task = await this.deps.tasks.createTask({ ...info, digestCount: 0, peerCount: 0, shards: 1, createdAt: now, reports: [], pack });
    const lost = now - task.createdAt > DIGEST_REDISPATCH_MS && task.digestCount < task.pieceCount;
    if ((task.createdAt === now || lost) && this.deps.digests && task.pack && !task.quarantine) {
      await this.deps.digests.dispatch(planDigestJobs(packDigestTaskOf({ ...task, pack: task.pack })));
    }
    return toTaskInfo(task, now);
  }
}
