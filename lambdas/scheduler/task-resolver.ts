import { BadRequestError, ForbiddenError, NotFoundError } from '../../core/errors.ts';
import { originAllowed } from '../../core/allowlist.ts';
import { canonicalOriginUrl, canonicalS3Url, describeOrigin, parseOriginUrl, type OriginLocation } from '../../core/origin-url.ts';
import { taskInfoOf } from '../../core/task-info.ts';
import { isPackUrl, parsePackUrl } from '../../core/pack.ts';
import { packAllowed } from './pack-service.ts';
import type { ClusterSettingsSource } from '../domain/cluster.ts';
import type { HttpHeadReader, ObjectHead, OriginReader } from '../domain/origin.ts';
import type { TaskRecord, TaskStore } from '../domain/task.ts';
import { digestTaskOf, planDigestJobs, type DigestDispatcher } from '../domain/digest.ts';
import { settingsFor, type EffectiveSettings, type SchedulerSettings } from './settings.ts';
import type { RegistryProofReader } from '../domain/registry.ts';
import { checkRegistryProof } from './registry-proof.ts';

export interface TaskResolverOptions {
  readonly tasks: TaskStore;
  readonly origin: OriginReader;
  /** HEAD of HTTP(S) origins; absent, HTTP(S) URLs are refused. */
  readonly httpOrigin?: HttpHeadReader;
  /** Checks registry proofs (core/registry-blob.ts); absent, registry blob URLs are refused. */
  readonly registryProofs?: RegistryProofReader;
  readonly settings: SchedulerSettings;
  /** Operator-set per-cluster settings; they override `settings`. */
  readonly clusters?: ClusterSettingsSource;
  /** Hashes an S3 task's pieces in the control plane; absent, nothing is dispatched (pieces then wait for digests). */
  readonly digests?: DigestDispatcher;
  readonly now: () => number;
}

/** What a URL resolved to for one cluster. */
export interface Resolved {
  readonly location: OriginLocation;
  readonly settings: EffectiveSettings;
  readonly task: TaskRecord;
  /** A registry blob: the asker's own checked proof, where it reads the blob if it gets the grant. */
  readonly sourceUrl?: string;
}

/**
 * URL → task: parses the URL, holds it to the cluster's allowlist before the
 * origin is ever asked, and confirms the object's current version with the
 * origin on every lookup by URL (a register, a lookup, a new pull), so a pull
 * that starts after an overwrite completed gets the new version, as S3's
 * read-after-write promises; a changed object becomes a new task. Announces
 * that name their task (a running pull's) and pinned versions (immutable) ask
 * no one. Concurrent lookups of one URL share one HEAD in this instance.
 */
/** A task's manifest still incomplete this long after the task began lost its digest dispatch: dispatch again (jobs are idempotent). */
const DIGEST_REDISPATCH_MS = 5 * 60_000;

export class TaskResolver {
  private readonly confirming = new Map<string, Promise<TaskRecord>>();

  constructor(private readonly deps: TaskResolverOptions) {}

  /** BadRequestError for a malformed URL or a taskId of another URL; ForbiddenError outside the allowlist; origin errors as the origin reader throws them. */
  async resolve(rawUrl: string, cluster: string, knownTaskId?: string, registryProof?: string): Promise<Resolved> {
    if (isPackUrl(rawUrl)) return this.resolvePack(rawUrl, cluster, knownTaskId);
    const named = parseOriginUrl(rawUrl);
    const settings = await settingsFor(this.deps.settings, this.deps.clusters, cluster);
    if (!originAllowed(named, settings.allowedOrigins)) throw outsideAllowlist(named);
    const proven = await checkRegistryProof(this.deps.registryProofs, named, settings.allowedOrigins, registryProof);
    if (proven) {
      // Every announce shows its proof: the task is pinned by what the proof names, never by a remembered task id.
      const task = await this.current(canonicalOriginUrl(named), named, proven);
      if (knownTaskId && knownTaskId !== task.id) throw new BadRequestError('taskId does not belong to this blob', { context: { taskId: knownTaskId } });
      return { location: named, settings, task, sourceUrl: registryProof };
    }
    const location = await this.unpinCurrent(named);
    const task = await this.taskOf(canonicalOriginUrl(location), location, knownTaskId);
    return { location, settings, task };
  }

  /**
   * A pinned version that is the object's current one (or `null`, S3's name for the version
   * of an object written while versioning was off) names the bytes the plain URL names: it
   * resolves to the plain URL's task, so those bytes are not read from S3 a second time.
   * A pinned URL seen before as another version is immutable and asks no one.
   */
  private async unpinCurrent(location: OriginLocation): Promise<OriginLocation> {
    if (location.kind !== 's3' || location.versionId === undefined) return location;
    if (await this.deps.tasks.getUrl(canonicalS3Url(location))) return location;
    let current: string;
    try {
      current = (await this.deps.origin.head(location.bucket, location.key)).versionId ?? 'null';
    } catch (error) {
      // The current object is gone (or unreadable): the pinned version may still be there.
      if (error instanceof NotFoundError || error instanceof ForbiddenError) return location;
      throw error;
    }
    return current === location.versionId ? { kind: 's3', bucket: location.bucket, key: location.key } : location;
  }

  /**
   * A pack (core/pack.ts) is opened with POST /v1/packs, which pins its members' versions:
   * an announce only finds its task, asks no one, and holds every member to the allowlist.
   */
  private async resolvePack(rawUrl: string, cluster: string, knownTaskId?: string): Promise<Resolved> {
    const { bucket, id } = parsePackUrl(rawUrl);
    if (knownTaskId && knownTaskId !== id) throw new BadRequestError('taskId does not belong to this pack', { context: { taskId: knownTaskId } });
    const settings = await settingsFor(this.deps.settings, this.deps.clusters, cluster);
    const task = await this.deps.tasks.getTask(id);
    if (!task?.pack || task.pack.bucket !== bucket) throw new NotFoundError(`unknown pack ${id}: open it with POST /v1/packs first`, { context: { taskId: id } });
    if (!packAllowed(task.pack, settings.allowedOrigins)) throw new ForbiddenError("a member of this pack is outside this cluster's allowed origins", { context: { taskId: id } });
    return { location: { kind: 's3', bucket, key: task.pack.members[0].key }, settings, task };
  }

  /** NotFoundError for an unknown task. */
  async require(taskId: string): Promise<TaskRecord> {
    const task = await this.deps.tasks.getTask(taskId);
    if (!task) throw new NotFoundError(`unknown task ${taskId}`, { context: { taskId } });
    return task;
  }

  private async taskOf(url: string, location: OriginLocation, knownTaskId?: string): Promise<TaskRecord> {
    const { tasks } = this.deps;
    if (knownTaskId) {
      const known = await tasks.getTask(knownTaskId);
      if (known) {
        if (known.url !== url) throw new BadRequestError('taskId does not belong to this URL', { context: { taskId: knownTaskId } });
        return known;
      }
    }
    let pending = this.confirming.get(url);
    if (!pending) {
      pending = this.current(url, location).finally(() => this.confirming.delete(url));
      this.confirming.set(url, pending);
    }
    return pending;
  }

  /** The task of the object's current version: one HEAD, and writes only when the version is new. */
  private async current(url: string, location: OriginLocation, proven?: ObjectHead): Promise<TaskRecord> {
    const { tasks } = this.deps;
    const pinned = location.kind === 's3' && location.versionId !== undefined;
    const cached = await tasks.getUrl(url);
    if (cached && pinned) {
      const task = await tasks.getTask(cached.taskId);
      if (task) return task;
    }
    const head = proven ?? (await this.headOf(location));
    const info = taskInfoOf(url, head, location.kind === 's3' ? location.versionId : undefined);
    const now = this.deps.now();
    if (cached?.taskId === info.id) {
      const known = await tasks.getTask(info.id);
      // The version did not change; a manifest still incomplete long after the task began lost its dispatch.
      if (known && now - known.createdAt > DIGEST_REDISPATCH_MS) await this.deriveDigests(known, location);
      if (known) return known;
    }
    const task = await tasks.createTask({ ...info, digestCount: 0, peerCount: 0, shards: 1, createdAt: now, reports: [] });
    // Created by this call (or one in the same instant), or a task whose dispatch was lost long ago.
    if (task.createdAt === now || now - task.createdAt > DIGEST_REDISPATCH_MS) await this.deriveDigests(task, location);
    // Written only once the digests are dispatched: a failed dispatch is retried by the next announce's HEAD.
    await tasks.putUrl({ url, taskId: info.id, checkedAt: now });
    return task;
  }

  /** An S3 task whose manifest is incomplete (new, or a dispatch lost) gets its digests computed by the control plane; jobs are idempotent. */
  private async deriveDigests(task: TaskRecord, location: OriginLocation): Promise<void> {
    if (location.kind !== 's3' || !this.deps.digests || task.digestCount >= task.pieceCount || task.quarantine) return;
    await this.deps.digests.dispatch(planDigestJobs(digestTaskOf(task, location.bucket, location.key, location.versionId)));
  }

  private headOf(location: OriginLocation): Promise<ObjectHead> {
    if (location.kind === 's3') return this.deps.origin.head(location.bucket, location.key, location.versionId);
    if (!this.deps.httpOrigin) throw new BadRequestError('this scheduler does not read HTTP(S) origins', { context: { url: location.url } });
    return this.deps.httpOrigin.head(location.url);
  }
}

function outsideAllowlist(location: OriginLocation): ForbiddenError {
  const hint = location.kind === 'http' ? ' (HTTP(S) origins need an http(s)://host/prefix entry in allowedOrigins)' : '';
  return new ForbiddenError(`${describeOrigin(location)} is outside this cluster's allowed origins${hint}`, {
    context: location.kind === 's3' ? { bucket: location.bucket } : { url: location.url },
  });
}
