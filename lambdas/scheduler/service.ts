import { DEFAULTS } from '../../core/constants.ts';
import { BadRequestError, ConflictError, ForbiddenError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { AnnounceRequest, AnnounceResponse, IncidentRequest, ManifestResponse, PublishDigestsRequest, TaskInfo } from '../../core/wire/scheduler.ts';
import type { DigestDispatcher } from '../domain/digest.ts';
import { ManifestIncidents } from '../digest/incidents.ts';
import type { MetricEmitter } from '../shared/metrics.ts';
import type { SeedPreference } from '../domain/back-to-source.ts';
import type { ClusterSettingsSource } from '../domain/cluster.ts';
import type { SourceGrantStore } from '../domain/grant.ts';
import type { ManifestStore } from '../domain/manifest.ts';
import type { HttpHeadReader, OriginReader } from '../domain/origin.ts';
import type { PeerRecord, PeerStore } from '../domain/peer.ts';
import { quarantined, type TaskRecord, type TaskStore } from '../domain/task.ts';
import { announce, type AnnounceDeps } from './announce.ts';
import { digestSourceOf, toDigestMap, toTaskInfo } from './answers.ts';
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
  /** Computes S3 tasks' digests in the control plane (lambdas/digest/); absent, S3 pieces wait for digests forever. */
  readonly digests?: DigestDispatcher;
  /** Manifest incidents are counted here (and always logged as errors). */
  readonly metrics?: MetricEmitter;
  /** How long an HTTP(S) task stays quarantined after conflicting attestations. */
  readonly attestedQuarantineMs?: number;
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
  private readonly incidents: ManifestIncidents;
  private readonly now: () => number;

  constructor(private readonly deps: SchedulerServiceOptions) {
    this.now = deps.now ?? Date.now;
    const settings = { ...DEFAULT_SCHEDULER_SETTINGS, ...deps.settings };
    this.resolver = new TaskResolver({ ...deps, settings, now: this.now });
    this.incidents = new ManifestIncidents({ ...deps, dispatcher: deps.digests, now: this.now });
    this.backToSource = new BackToSource({ grants: deps.grants, seeds: deps.seeds, log: deps.log });
    this.announcing = { ...deps, resolver: this.resolver, backToSource: this.backToSource, now: this.now, random: deps.random ?? Math.random };
  }

  /** See announce.ts. */
  announce(request: AnnounceRequest): Promise<AnnounceResponse> {
    return announce(this.announcing, request);
  }

  /**
   * Attestations of an HTTP(S) task's digests, by the agent holding its back-to-source lease. S3 tasks' digests
   * come from the control plane only (403). A digest that conflicts with a known one is an incident (see
   * ManifestIncidents), never first-writer-wins: the task is quarantined and the call answers 409.
   */
  async publishDigests(taskId: string, request: PublishDigestsRequest): Promise<{ accepted: number; digestCount: number }> {
    const task = await this.resolver.require(taskId);
    const context = { taskId, peerId: request.peerId };
    if (digestSourceOf(task) === 'origin') throw new ForbiddenError('digests of S3 tasks are computed by the control plane; agents may not publish them', { context });
    if (quarantined(task, this.now())) throw new ForbiddenError('this task is quarantined; its manifest is being derived again', { context });
    await this.requireLease(task, request.peerId, request.site);
    const digests = new Map<number, string>();
    for (const [index, digest] of Object.entries(request.digests)) {
      const piece = Number(index);
      if (piece >= task.pieceCount) throw new BadRequestError(`piece ${piece} is outside 0..${task.pieceCount - 1}`);
      digests.set(piece, digest);
    }
    try {
      const accepted = await this.deps.manifests.put(taskId, digests, 'attested');
      return { accepted, digestCount: task.digestCount + accepted };
    } catch (error) {
      if (error instanceof ConflictError) await this.incidents.raise(task, 'conflict', { peerId: request.peerId, site: request.site ?? DEFAULTS.site });
      throw error;
    }
  }

  /**
   * A lease holder read bytes of a piece whose digest differs from the vouched one. Only a lease holder
   * may report (it read the origin); a report that matches the manifest is no incident.
   */
  async reportIncident(taskId: string, request: IncidentRequest): Promise<{ quarantined: boolean }> {
    const task = await this.resolver.require(taskId);
    await this.requireLease(task, request.peerId, request.site);
    if (request.piece >= task.pieceCount) throw new BadRequestError(`piece ${request.piece} is outside 0..${task.pieceCount - 1}`);
    const known = (await this.deps.manifests.get(taskId)).get(request.piece);
    if (known === undefined || known === request.digest) return { quarantined: quarantined(task, this.now()) };
    await this.incidents.raise(task, 'incident', { peerId: request.peerId, piece: request.piece, read: request.digest, vouched: known });
    return { quarantined: true };
  }

  /** Vouched digests; none while the task is quarantined. */
  async manifest(taskId: string): Promise<ManifestResponse> {
    const task = await this.resolver.require(taskId);
    if (quarantined(task, this.now())) return { digests: {}, digestCount: 0 };
    const digests = toDigestMap(await this.deps.manifests.get(taskId));
    return { digests, digestCount: Object.keys(digests).length };
  }

  private async requireLease(task: TaskRecord, peerId: string, site: string = DEFAULTS.site): Promise<void> {
    if (!(await this.deps.grants.holds(task.id, site, peerId, this.now()))) {
      throw new ForbiddenError('only the agent granted back-to-source may do this', { context: { taskId: task.id, peerId } });
    }
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
    return { task: toTaskInfo(task, this.now()), peers: await this.deps.peers.list(task.id, task.shards), blocked: task.blocked };
  }

  async task(taskId: string): Promise<SwarmAnswer> {
    const task = await this.resolver.require(taskId);
    return { task: toTaskInfo(task, this.now()), peers: await this.deps.peers.list(taskId, task.shards), blocked: task.blocked };
  }
}
