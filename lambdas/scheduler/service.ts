import { DEFAULTS } from '../../core/constants.ts';
import { BadRequestError, ForbiddenError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { AnnounceRequest, AnnounceResponse, ManifestResponse, PublishDigestsRequest, TaskInfo } from '../../core/wire/scheduler.ts';
import type { SeedPreference } from '../domain/back-to-source.ts';
import type { ClusterSettingsSource } from '../domain/cluster.ts';
import type { SourceGrantStore } from '../domain/grant.ts';
import type { ManifestStore } from '../domain/manifest.ts';
import type { HttpHeadReader, OriginReader } from '../domain/origin.ts';
import type { PeerRecord, PeerStore } from '../domain/peer.ts';
import type { TaskStore } from '../domain/task.ts';
import { derivePeerSigningKey } from '../../core/peer-credential.ts';
import { announce, type AnnounceDeps } from './announce.ts';
import { toDigestMap, toTaskInfo } from './answers.ts';
import { BackToSource } from './back-to-source.ts';
import { DEFAULT_SCHEDULER_SETTINGS, type SchedulerSettings } from './settings.ts';
import { TaskResolver } from './task-resolver.ts';

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

/** The swarm of one task as `mayfly stat` and the task route show it. */
export interface SwarmAnswer {
  readonly task: TaskInfo;
  readonly peers: PeerRecord[];
  readonly blocked: readonly string[];
}

/** The matchmaker: answers announces with parents, grants and digests. Moves no bytes. */
export class SchedulerService {
  private readonly resolver: TaskResolver;
  private readonly backToSource: BackToSource;
  private readonly announcing: AnnounceDeps;
  private readonly now: () => number;

  constructor(private readonly deps: SchedulerServiceOptions) {
    this.now = deps.now ?? Date.now;
    const settings = { ...DEFAULT_SCHEDULER_SETTINGS, ...deps.settings };
    this.resolver = new TaskResolver({ ...deps, settings, now: this.now });
    this.backToSource = new BackToSource({ grants: deps.grants, seeds: deps.seeds, log: deps.log });
    // Derived once: the signing key never leaves the scheduler; agents get only its public half.
    const signing = deps.peerSecret ? derivePeerSigningKey(deps.peerSecret) : undefined;
    this.announcing = { ...deps, signing, resolver: this.resolver, backToSource: this.backToSource, now: this.now, random: deps.random ?? Math.random };
  }

  /** See announce.ts. */
  announce(request: AnnounceRequest): Promise<AnnounceResponse> {
    return announce(this.announcing, request);
  }

  /** Only an agent holding a back-to-source lease (it read the origin) may add digests. */
  async publishDigests(taskId: string, request: PublishDigestsRequest): Promise<{ accepted: number; digestCount: number }> {
    const task = await this.resolver.require(taskId);
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
    await this.resolver.require(taskId);
    const digests = toDigestMap(await this.deps.manifests.get(taskId));
    return { digests, digestCount: Object.keys(digests).length };
  }

  async leave(taskId: string, peerId: string, site: string = DEFAULTS.site): Promise<void> {
    const task = await this.resolver.require(taskId);
    await Promise.all([this.deps.peers.remove(taskId, peerId, task.shards), this.backToSource.release(taskId, site, [peerId])]);
  }

  /**
   * A URL's current task and its swarm, for `mayfly stat`: resolves the URL as an
   * announce would (allowlist, one HEAD per task) but registers no peer.
   */
  async swarmOf(rawUrl: string, cluster: string = DEFAULTS.site): Promise<SwarmAnswer> {
    const { task } = await this.resolver.resolve(rawUrl, cluster);
    return { task: toTaskInfo(task), peers: await this.deps.peers.list(task.id, task.shards), blocked: task.blocked };
  }

  async task(taskId: string): Promise<SwarmAnswer> {
    const task = await this.resolver.require(taskId);
    return { task: toTaskInfo(task), peers: await this.deps.peers.list(taskId, task.shards), blocked: task.blocked };
  }
}
