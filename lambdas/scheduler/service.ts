import { DEFAULTS } from '../../core/constants.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { canonicalS3Url, parseS3Url, type S3Location } from '../../core/origin-url.ts';
import { hasCompleteSource, selectParents, type SelectParentsOptions } from '../../core/parent-selection.ts';
import { choosePieceLength, pieceCountOf } from '../../core/piece-math.ts';
import type {
  AnnounceRequest,
  AnnounceResponse,
  DigestMap,
  ManifestResponse,
  ParentInfo,
  PublishDigestsRequest,
  TaskInfo,
} from '../../core/schemas.ts';
import { computeTaskId } from '../../core/task-id.ts';
import type { ManifestStore, OriginReader, PeerRecord, PeerStore, SourceGrantStore, TaskRecord, TaskStore } from './ports.ts';

export interface SchedulerSettings {
  readonly parentLimit: number;
  readonly backToSourceLimit: number;
  readonly sourceLeaseMs: number;
  readonly originRecheckMs: number;
  /** `bucket/prefix` entries a task URL must start with; undefined allows every bucket. */
  readonly allowedOrigins?: readonly string[];
}

export const DEFAULT_SCHEDULER_SETTINGS: SchedulerSettings = {
  parentLimit: DEFAULTS.parentLimit,
  backToSourceLimit: DEFAULTS.backToSourceLimit,
  sourceLeaseMs: DEFAULTS.sourceLeaseMs,
  originRecheckMs: DEFAULTS.originRecheckMs,
};

export interface SchedulerServiceOptions {
  readonly tasks: TaskStore;
  readonly peers: PeerStore;
  readonly grants: SourceGrantStore;
  readonly manifests: ManifestStore;
  readonly origin: OriginReader;
  readonly log: Logger;
  readonly settings?: Partial<SchedulerSettings>;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** The matchmaker: answers announces with parents, grants and digests. Moves no bytes. */
export class SchedulerService {
  private readonly settings: SchedulerSettings;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly deps: SchedulerServiceOptions) {
    this.settings = { ...DEFAULT_SCHEDULER_SETTINGS, ...deps.settings };
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  async announce(request: AnnounceRequest): Promise<AnnounceResponse> {
    const location = parseS3Url(request.url);
    this.assertAllowed(location);
    const url = canonicalS3Url(location);
    const task = await this.resolveTask(url, location, request.taskId);
    const now = this.now();
    const site = request.site ?? DEFAULTS.site;
    const completed = Math.min(request.completed ?? 0, task.pieceCount);
    const finished = request.event === 'finished' || completed === task.pieceCount;
    const interval = announceIntervalFor(task.peerCount);
    const log = this.deps.log.child({ taskId: task.id, peerId: request.peerId });

    if (request.event === 'register') await this.deps.tasks.addPeer(task.id, DEFAULTS.peersPerShard, DEFAULTS.maxShards);
    if (request.badParents?.length) {
      await this.deps.tasks.block(task.id, request.badParents);
      log.warn('parents reported for bad data', { badParents: request.badParents });
    }

    const blocked = new Set([...task.blocked, ...(request.badParents ?? [])]);
    const selection: SelectParentsOptions = {
      selfPeerId: request.peerId,
      site,
      pieceCount: task.pieceCount,
      now,
      staleMs: Math.max(DEFAULTS.peerStaleMs, 3 * interval),
      limit: this.settings.parentLimit,
      blocked,
      random: this.random,
    };

    // A finished peer only heartbeats: no parents, no grant, one write.
    let parents: PeerRecord[] = [];
    let source = false;
    if (!finished && request.event !== 'failed') {
      const candidates = await this.deps.peers.sample(task.id, task.shards, DEFAULTS.sampleSize, this.random);
      parents = selectParents(candidates, selection);
      // Starvation alone is no reason to read S3 while a complete source is reachable.
      if (!hasCompleteSource(candidates, selection)) {
        source = await this.deps.grants.acquire(task.id, site, request.peerId, this.settings.backToSourceLimit, this.settings.sourceLeaseMs, now);
        if (source) log.info('back-to-source granted', { site, event: request.event });
      }
    } else if (request.event === 'finished' || request.event === 'failed') {
      await this.deps.grants.release(task.id, site, request.peerId);
    }

    await this.deps.peers.put(
      {
        taskId: task.id,
        peerId: request.peerId,
        addr: request.addr,
        site,
        seed: request.seed ?? false,
        finished,
        source,
        failed: request.event === 'failed',
        completed,
        uploads: request.uploads ?? 0,
        updatedAt: now,
        bytesFromPeers: request.bytesFromPeers ?? 0,
        bytesFromOrigin: request.bytesFromOrigin ?? 0,
      },
      task.shards,
      DEFAULTS.peerTtlSeconds,
    );

    let digests: DigestMap | undefined;
    if (task.digestCount > (request.digestsKnown ?? 0)) digests = toDigestMap(await this.deps.manifests.get(task.id));

    return {
      task: toTaskInfo(task),
      parents: parents.map(toParentInfo),
      backToSource: source,
      digests,
      digestCount: digests ? Object.keys(digests).length : task.digestCount,
      announceIntervalMs: interval,
    };
  }

  /** Only an agent holding a back-to-source lease (it read the origin) may add digests. */
  async publishDigests(taskId: string, request: PublishDigestsRequest): Promise<{ accepted: number; digestCount: number }> {
    const task = await this.requireTask(taskId);
    const site = request.site ?? DEFAULTS.site;
    if (!(await this.deps.grants.holds(taskId, site, request.peerId, this.now()))) {
      throw new ForbiddenError('only the agent granted back-to-source may publish digests', { context: { taskId, peerId: request.peerId } });
    }
    const digests = new Map<number, string>();
    for (const [index, digest] of Object.entries(request.digests)) {
      const piece = Number(index);
      if (piece >= task.pieceCount) throw new BadRequestError(`piece ${piece} is outside 0..${task.pieceCount - 1}`);
      digests.set(piece, digest);
    }
    const accepted = await this.deps.manifests.put(taskId, digests);
    return { accepted, digestCount: task.digestCount + accepted };
  }

  async manifest(taskId: string): Promise<ManifestResponse> {
    await this.requireTask(taskId);
    const digests = toDigestMap(await this.deps.manifests.get(taskId));
    return { digests, digestCount: Object.keys(digests).length };
  }

  async leave(taskId: string, peerId: string, site: string = DEFAULTS.site): Promise<void> {
    const task = await this.requireTask(taskId);
    await Promise.all([this.deps.peers.remove(taskId, peerId, task.shards), this.deps.grants.release(taskId, site, peerId)]);
  }

  async task(taskId: string): Promise<{ task: TaskInfo; peers: PeerRecord[] }> {
    const task = await this.requireTask(taskId);
    return { task: toTaskInfo(task), peers: await this.deps.peers.list(taskId, task.shards) };
  }

  private async requireTask(taskId: string): Promise<TaskRecord> {
    const task = await this.deps.tasks.getTask(taskId);
    if (!task) throw new NotFoundError(`unknown task ${taskId}`, { context: { taskId } });
    return task;
  }

  private assertAllowed(location: S3Location): void {
    const allowed = this.settings.allowedOrigins;
    if (!allowed) return;
    const path = `${location.bucket}/${location.key}`;
    if (!allowed.some((prefix) => path.startsWith(prefix))) {
      throw new ForbiddenError(`s3://${path} is outside this cluster's allowed origins`, { context: { bucket: location.bucket } });
    }
  }

  /** URL → task, with one HeadObject per task (rechecked only after originRecheckMs). */
  private async resolveTask(url: string, location: S3Location, knownTaskId?: string): Promise<TaskRecord> {
    if (knownTaskId) {
      const known = await this.deps.tasks.getTask(knownTaskId);
      if (known) {
        if (known.url !== url) throw new BadRequestError('taskId does not belong to this URL', { context: { taskId: knownTaskId } });
        return known;
      }
    }
    const now = this.now();
    const cached = await this.deps.tasks.getUrl(url);
    if (cached && now - cached.checkedAt < this.settings.originRecheckMs) {
      const task = await this.deps.tasks.getTask(cached.taskId);
      if (task) return task;
    }
    const head = await this.deps.origin.head(location.bucket, location.key, location.versionId);
    const id = computeTaskId(url, location.versionId ?? head.etag);
    const pieceLength = choosePieceLength(head.size);
    const task = await this.deps.tasks.createTask({
      id,
      url,
      etag: head.etag,
      size: head.size,
      pieceLength,
      pieceCount: pieceCountOf(head.size, pieceLength),
      digestCount: 0,
      peerCount: 0,
      shards: 1,
      createdAt: now,
      blocked: [],
    });
    await this.deps.tasks.putUrl({ url, taskId: id, checkedAt: now });
    return task;
  }
}

/** Small swarms announce every second; big ones back off to keep writes per key bounded. */
export function announceIntervalFor(peerCount: number): number {
  return Math.min(DEFAULTS.maxAnnounceIntervalMs, Math.max(DEFAULTS.minAnnounceIntervalMs, peerCount * 3));
}

function toTaskInfo(task: TaskRecord): TaskInfo {
  return { id: task.id, url: task.url, size: task.size, etag: task.etag, pieceLength: task.pieceLength, pieceCount: task.pieceCount };
}

function toParentInfo(peer: PeerRecord): ParentInfo {
  return {
    peerId: peer.peerId,
    addr: peer.addr,
    site: peer.site,
    seed: peer.seed,
    completed: peer.completed,
    finished: peer.finished,
    source: peer.source,
  };
}

function toDigestMap(digests: Map<number, string>): DigestMap {
  const map: DigestMap = {};
  for (const [index, digest] of digests) map[String(index)] = digest;
  return map;
}
