import { DEFAULTS } from '../../core/constants.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { canonicalOriginUrl, describeOrigin, originAllowedBy, parseOriginUrl, type OriginLocation } from '../../core/origin-url.ts';
import { hasCompleteSource, selectParents, type SelectParentsOptions } from '../../core/parent-selection.ts';
import type {
  AnnounceRequest,
  AnnounceResponse,
  DigestMap,
  ManifestResponse,
  ParentInfo,
  PublishDigestsRequest,
  TaskInfo,
} from '../../core/wire/scheduler.ts';
import { CREDENTIAL_LIFETIME_MS, deriveTaskKey, issueCredential } from '../../core/peer-credential.ts';
import { taskInfoOf } from '../../core/task-info.ts';
import type {
  ClusterSettingsSource,
  HttpHeadReader,
  ManifestStore,
  ObjectHead,
  OriginReader,
  PeerRecord,
  PeerStore,
  SeedPreference,
  SourceGrantStore,
  TaskRecord,
  TaskStore,
} from './ports.ts';

export interface SchedulerSettings {
  readonly parentLimit: number;
  readonly backToSourceLimit: number;
  readonly sourceLeaseMs: number;
  readonly originRecheckMs: number;
  /**
   * `bucket/prefix` entries an S3 task URL must start with (undefined allows every bucket);
   * `http(s)://host[:port]/prefix` entries admit HTTP(S) URLs, which are denied without one.
   */
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
  /** HEAD of HTTP(S) origins; absent, HTTP(S) URLs are refused. */
  readonly httpOrigin?: HttpHeadReader;
  readonly log: Logger;
  readonly settings?: Partial<SchedulerSettings>;
  /** Operator-set per-cluster settings; they override `settings`. */
  readonly clusters?: ClusterSettingsSource;
  /** Seeds first for back-to-source (absent: every agent is treated alike). */
  readonly seeds?: SeedPreference;
  /** Control-plane secret that peer credentials derive from; absent disables peer auth. */
  readonly peerSecret?: string;
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
    const location = parseOriginUrl(request.url);
    const settings = await this.settingsFor(request.cluster ?? DEFAULTS.site);
    this.assertAllowed(location, settings);
    const url = canonicalOriginUrl(location);
    const task = await this.resolveTask(url, location, request.taskId);
    const now = this.now();
    const site = request.site ?? DEFAULTS.site;
    const completed = Math.min(request.completed ?? 0, task.pieceCount);
    const finished = request.event === 'finished' || completed === task.pieceCount;
    const swarmInterval = Math.max(settings.minAnnounceIntervalMs ?? 0, announceIntervalFor(task.peerCount));
    const interval = finished ? heartbeatIntervalFor(swarmInterval) : swarmInterval;
    const log = this.deps.log.child({ taskId: task.id, peerId: request.peerId });

    if (task.blocked.includes(request.peerId)) {
      throw new ForbiddenError('this peer was reported for serving bad data and is blocked for this task', { context: { taskId: task.id } });
    }
    if (request.event === 'lookup') {
      // Metadata only: nothing is stored, so the peer is neither a parent nor a grant holder.
      return { task: toTaskInfo(task), parents: [], backToSource: false, digestCount: task.digestCount, announceIntervalMs: interval, peerAuth: this.peerAuth(task.id, request.peerId, now) };
    }
    if (request.event === 'register') await this.countPeer(task);
    if (request.badParents?.length) {
      await this.deps.tasks.block(task.id, request.badParents);
      // A blocked peer also loses any back-to-source grant, so an honest agent can take over.
      await Promise.all(request.badParents.map((peerId) => this.deps.grants.release(task.id, site, peerId)));
      log.warn('parents reported for bad data', { badParents: request.badParents });
    }

    const blocked = new Set([...task.blocked, ...(request.badParents ?? [])]);
    const selection: SelectParentsOptions = {
      selfPeerId: request.peerId,
      site,
      pieceCount: task.pieceCount,
      now,
      staleMs: Math.max(DEFAULTS.peerStaleMs, 3 * swarmInterval),
      limit: settings.parentLimit,
      blocked,
      unreachable: new Set(request.unreachable ?? []),
      random: this.random,
    };

    // A finished peer only heartbeats: no parents, no grant, one write.
    let parents: PeerRecord[] = [];
    let source = false;
    if (!finished && request.event !== 'failed') {
      const candidates = await this.deps.peers.sample(task.id, task.shards, DEFAULTS.sampleSize, this.random, task.peerCount);
      parents = selectParents(candidates, selection);
      // Starvation alone is no reason to read S3 while a complete source is reachable.
      // A peer claiming to be finished before the manifest is complete cannot be (it would be unverifiable).
      const manifestComplete = task.digestCount >= task.pieceCount;
      const credible = manifestComplete ? candidates : candidates.filter((peer) => !peer.finished || peer.source);
      if (!hasCompleteSource(credible, selection)) {
        const cluster = request.cluster ?? DEFAULTS.site;
        // A holder keeps renewing its lease; only newcomers wait for the seed.
        const defer =
          !request.seed &&
          (await this.deps.seeds?.deferToSeed(cluster, site, task.id, task.url, now)) &&
          !(await this.deps.grants.holds(task.id, site, request.peerId, now));
        if (defer) log.info('back-to-source left to a seed', { site });
        else source = await this.deps.grants.acquire(task.id, site, request.peerId, settings.backToSourceLimit, Math.max(settings.sourceLeaseMs, 3 * swarmInterval), now);
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
        intervalMs: interval,
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
      peerAuth: this.peerAuth(task.id, request.peerId, now),
      origin: source ? await this.presignedOrigin(location, now) : undefined,
    };
  }

  private async presignedOrigin(location: OriginLocation, now: number): Promise<AnnounceResponse['origin']> {
    // An HTTP(S) origin is read as it is: the allowlisted URL itself, nothing to sign.
    if (location.kind === 'http') return { url: location.url, expiresAt: now + PRESIGN_SECONDS * 1000 };
    if (!this.deps.origin.presignGet) return undefined;
    const url = await this.deps.origin.presignGet(location.bucket, location.key, location.versionId, PRESIGN_SECONDS);
    return { url, expiresAt: now + PRESIGN_SECONDS * 1000 };
  }

  /**
   * Counts registrations for shard sizing. Past the first 64 peers a herd would
   * make the task item one hot key, so it is counted 8 at a time, 1 in 8 registers.
   */
  private async countPeer(task: TaskRecord): Promise<void> {
    if (task.peerCount < 64) await this.deps.tasks.addPeer(task.id, DEFAULTS.peersPerShard, DEFAULTS.maxShards);
    else if (this.random() < 1 / 8) await this.deps.tasks.addPeer(task.id, DEFAULTS.peersPerShard, DEFAULTS.maxShards, 8);
  }

  /** Only agents that got this far (allowlist passed) receive the task's peer key. */
  private peerAuth(taskId: string, peerId: string, now: number): AnnounceResponse['peerAuth'] {
    if (!this.deps.peerSecret) return undefined;
    const taskKey = deriveTaskKey(this.deps.peerSecret, taskId);
    const expiresAt = now + CREDENTIAL_LIFETIME_MS;
    return { taskKey, credential: issueCredential(taskKey, taskId, peerId, expiresAt), expiresAt };
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

  /**
   * A URL's current task and its swarm, for `mayfly stat`: resolves the URL as an
   * announce would (allowlist, one HeadObject per task) but registers no peer.
   */
  async swarmOf(rawUrl: string, cluster: string = DEFAULTS.site): Promise<{ task: TaskInfo; peers: PeerRecord[]; blocked: readonly string[] }> {
    const location = parseOriginUrl(rawUrl);
    this.assertAllowed(location, await this.settingsFor(cluster));
    const task = await this.resolveTask(canonicalOriginUrl(location), location);
    return { task: toTaskInfo(task), peers: await this.deps.peers.list(task.id, task.shards), blocked: task.blocked };
  }

  async task(taskId: string): Promise<{ task: TaskInfo; peers: PeerRecord[]; blocked: readonly string[] }> {
    const task = await this.requireTask(taskId);
    return { task: toTaskInfo(task), peers: await this.deps.peers.list(taskId, task.shards), blocked: task.blocked };
  }

  private async requireTask(taskId: string): Promise<TaskRecord> {
    const task = await this.deps.tasks.getTask(taskId);
    if (!task) throw new NotFoundError(`unknown task ${taskId}`, { context: { taskId } });
    return task;
  }

  private async settingsFor(cluster: string): Promise<SchedulerSettings & { minAnnounceIntervalMs?: number }> {
    const custom = await this.deps.clusters?.get(cluster);
    if (!custom) return this.settings;
    const defined = Object.fromEntries(Object.entries(custom).filter(([, value]) => value !== undefined));
    return { ...this.settings, ...defined };
  }

  private assertAllowed(location: OriginLocation, settings: SchedulerSettings): void {
    const allowed = settings.allowedOrigins;
    // S3 without an allowlist: every bucket. HTTP(S) never without an entry: the scheduler would
    // otherwise HEAD (and agents GET) any address a caller names, inside the network too.
    if (!allowed && location.kind === 's3') return;
    if (!(allowed ?? []).some((entry) => originAllowedBy(entry, location))) {
      const hint = location.kind === 'http' ? ' (HTTP(S) origins need an http(s)://host/prefix entry in allowedOrigins)' : '';
      throw new ForbiddenError(`${describeOrigin(location)} is outside this cluster's allowed origins${hint}`, {
        context: location.kind === 's3' ? { bucket: location.bucket } : { url: location.url },
      });
    }
  }

  private headOf(location: OriginLocation): Promise<ObjectHead> {
    if (location.kind === 's3') return this.deps.origin.head(location.bucket, location.key, location.versionId);
    if (!this.deps.httpOrigin) throw new BadRequestError('this scheduler does not read HTTP(S) origins', { context: { url: location.url } });
    return this.deps.httpOrigin.head(location.url);
  }

  /** URL → task, with one HEAD of the origin per task (rechecked only after originRecheckMs). */
  private async resolveTask(url: string, location: OriginLocation, knownTaskId?: string): Promise<TaskRecord> {
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
    const head = await this.headOf(location);
    const info = taskInfoOf(url, head, location.kind === 's3' ? location.versionId : undefined);
    const task = await this.deps.tasks.createTask({
      ...info,
      digestCount: 0,
      peerCount: 0,
      shards: 1,
      createdAt: now,
      blocked: [],
    });
    await this.deps.tasks.putUrl({ url, taskId: info.id, checkedAt: now });
    return task;
  }
}

/** Lifetime of a presigned back-to-source URL; the holder gets a fresh one with each announce. */
const PRESIGN_SECONDS = 15 * 60;

/** Small swarms announce every second; big ones back off to keep writes per key bounded. */
export function announceIntervalFor(peerCount: number): number {
  return Math.min(DEFAULTS.maxAnnounceIntervalMs, Math.max(DEFAULTS.minAnnounceIntervalMs, peerCount * 3));
}

/** Finished peers only heartbeat (they need no parents), so they do it ten times less often. */
export function heartbeatIntervalFor(swarmIntervalMs: number): number {
  return Math.min(DEFAULTS.maxAnnounceIntervalMs, 10 * swarmIntervalMs);
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
