import { DEFAULTS } from '../../core/constants.ts';
import { BadRequestError, ForbiddenError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { AnnounceRequest, AnnounceResponse, ManifestResponse, PublishDigestsRequest, TaskInfo } from '../../core/wire/scheduler.ts';
import { originAllowed } from '../../core/allowlist.ts';
import { parseOriginUrl } from '../../core/origin-url.ts';
import { requireSelf } from '../domain/announce-binding.ts';
import type { SeedPreference } from '../domain/back-to-source.ts';
import { agentOf, type Caller } from '../domain/identity.ts';
import { DEFAULT_REPORT_RULES, weighReports, type ReportRules } from '../domain/parent-reports.ts';
import { DEFAULT_REGISTRATIONS_PER_MINUTE, type RegistrationCounter } from '../domain/registration-limit.ts';
import type { ClusterSettingsSource } from '../domain/cluster.ts';
import type { SourceGrantStore } from '../domain/grant.ts';
import type { ManifestStore } from '../domain/manifest.ts';
import type { HttpHeadReader, OriginReader } from '../domain/origin.ts';
import type { PeerRecord, PeerStore } from '../domain/peer.ts';
import type { TaskRecord, TaskStore } from '../domain/task.ts';
import { derivePeerSigningKey } from '../../core/peer-credential.ts';
import { announce, type AnnounceDeps } from './announce.ts';
import { toDigestMap, toTaskInfo } from './answers.ts';
import { BackToSource } from './back-to-source.ts';
import { DEFAULT_SCHEDULER_SETTINGS, settingsFor, type SchedulerSettings } from './settings.ts';
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
  /** Per-identity registration counter (absent: no limit). */
  readonly registrations?: RegistrationCounter;
  /** Task registrations one identity may make a minute (default DEFAULT_REGISTRATIONS_PER_MINUTE). */
  readonly registrationsPerMinute?: number;
  /** How reports about parents are weighed (default DEFAULT_REPORT_RULES). */
  readonly reportRules?: ReportRules;
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
  private readonly settings: SchedulerSettings;
  private readonly reportRules: ReportRules;

  constructor(private readonly deps: SchedulerServiceOptions) {
    this.now = deps.now ?? Date.now;
    const settings = { ...DEFAULT_SCHEDULER_SETTINGS, ...deps.settings };
    this.settings = settings;
    this.reportRules = deps.reportRules ?? DEFAULT_REPORT_RULES;
    this.resolver = new TaskResolver({ ...deps, settings, now: this.now });
    this.backToSource = new BackToSource({ grants: deps.grants, seeds: deps.seeds, log: deps.log });
    // Derived once: the signing key never leaves the scheduler; agents get only its public half.
    const signing = deps.peerSecret ? derivePeerSigningKey(deps.peerSecret) : undefined;
    this.announcing = {
      ...deps, signing, resolver: this.resolver, backToSource: this.backToSource, now: this.now, random: deps.random ?? Math.random,
      registrationsPerMinute: deps.registrationsPerMinute ?? DEFAULT_REGISTRATIONS_PER_MINUTE, reportRules: this.reportRules,
    };
  }

  /** See announce.ts. ForbiddenError when the body is not the caller's own (or the caller is no agent). */
  announce(request: AnnounceRequest, caller: Caller): Promise<AnnounceResponse> {
    return announce(this.announcing, request, caller);
  }

  /**
   * Only the calling agent, for itself, while it holds a back-to-source lease (it read
   * the origin) and is not withheld for bad data, may add digests.
   */
  async publishDigests(taskId: string, request: PublishDigestsRequest, caller: Caller): Promise<{ accepted: number; digestCount: number }> {
    const agent = agentOf(caller);
    requireSelf(agent, request.peerId);
    const task = await this.resolver.require(taskId);
    const site = agent.site ?? request.site ?? DEFAULTS.site;
    const withheld = weighReports(task.reports, this.now(), this.reportRules).withheld.has(agent.peerId);
    if (withheld || !(await this.deps.grants.holds(taskId, site, request.peerId, this.now()))) {
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

  async manifest(taskId: string, caller: Caller): Promise<ManifestResponse> {
    await this.admitted(await this.resolver.require(taskId), caller);
    const digests = toDigestMap(await this.deps.manifests.get(taskId));
    return { digests, digestCount: Object.keys(digests).length };
  }

  /** The caller leaves the swarm: only its own peer record and lease go. */
  async leave(taskId: string, peerId: string, caller: Caller, bodySite?: string): Promise<void> {
    const agent = agentOf(caller);
    requireSelf(agent, peerId);
    const site = agent.site ?? bodySite ?? DEFAULTS.site;
    const task = await this.resolver.require(taskId);
    await Promise.all([this.deps.peers.remove(taskId, peerId, task.shards), this.backToSource.release(taskId, site, [peerId])]);
  }

  /**
   * A URL's current task and its swarm, for `mayfly stat`: resolves the URL as an
   * announce would (allowlist, one HEAD per task) but registers no peer.
   */
  async swarmOf(rawUrl: string, asked: string | undefined, caller: Caller): Promise<SwarmAnswer> {
    const identity = caller.identity;
    if (identity.kind === 'agent' && asked !== undefined && asked !== identity.cluster) {
      throw new ForbiddenError('an agent may look up tasks of its own cluster only', { context: { cluster: asked } });
    }
    const { task } = await this.resolver.resolve(rawUrl, identity.kind === 'agent' ? identity.cluster : (asked ?? DEFAULTS.site));
    return this.swarmAnswer(task);
  }

  /** A task's swarm; an agent sees only tasks its cluster's allowlist admits. */
  async task(taskId: string, caller: Caller): Promise<SwarmAnswer> {
    const task = await this.resolver.require(taskId);
    await this.admitted(task, caller);
    return this.swarmAnswer(task);
  }

  /** NotFoundError for a cluster that does not exist (see settings.ts). */
  async requireCluster(cluster: string): Promise<void> {
    await settingsFor(this.settings, this.deps.clusters, cluster);
  }

  private async swarmAnswer(task: TaskRecord): Promise<SwarmAnswer> {
    const blocked = [...weighReports(task.reports, this.now(), this.reportRules).withheld];
    return { task: toTaskInfo(task), peers: await this.deps.peers.list(task.id, task.shards), blocked };
  }

  /** The operator reads every task; an agent only those its cluster's allowlist admits. */
  private async admitted(task: TaskRecord, caller: Caller): Promise<void> {
    if (caller.identity.kind !== 'agent') return;
    const settings = await settingsFor(this.settings, this.deps.clusters, caller.identity.cluster);
    if (!originAllowed(parseOriginUrl(task.url), settings.allowedOrigins)) {
      throw new ForbiddenError("this task is outside the caller's cluster's allowed origins", { context: { taskId: task.id } });
    }
  }
}
