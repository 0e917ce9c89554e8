import { DEFAULTS } from '../../core/constants.ts';
import { BadRequestError, ConflictError, ForbiddenError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { AnnounceRequest, AnnounceResponse, IncidentRequest, ManifestResponse, PublishDigestsRequest, TaskInfo } from '../../core/wire/scheduler.ts';
import type { DigestDispatcher } from '../domain/digest.ts';
import { ManifestIncidents } from '../digest/incidents.ts';
import type { MetricEmitter } from '../shared/metrics.ts';
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
import { quarantined, type TaskRecord, type TaskStore } from '../domain/task.ts';
import { derivePeerSigningKey } from '../../core/peer-credential.ts';
import { announce, type AnnounceDeps } from './announce.ts';
import { digestSourceOf, toDigestMap, toTaskInfo } from './answers.ts';
import { BackToSource } from './back-to-source.ts';
import { DEFAULT_SCHEDULER_SETTINGS, settingsFor, type SchedulerSettings } from './settings.ts';
import { TaskResolver } from './task-resolver.ts';
import { taskAllowed } from './pack-service.ts';
import type { RegistryProofReader } from '../domain/registry.ts';

export interface SchedulerServiceOptions {
  readonly tasks: TaskStore;
  readonly peers: PeerStore;
  readonly grants: SourceGrantStore;
  readonly manifests: ManifestStore;
  readonly origin: OriginReader;
  /** HEAD of HTTP(S) origins; absent, HTTP(S) URLs are refused. */
  readonly httpOrigin?: HttpHeadReader;
  /** Checks registry proofs; absent, registry blob URLs are refused. */
  readonly registryProofs?: RegistryProofReader;
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
  private readonly settings: SchedulerSettings;
  private readonly reportRules: ReportRules;

  constructor(private readonly deps: SchedulerServiceOptions) {
    this.now = deps.now ?? Date.now;
    const settings = { ...DEFAULT_SCHEDULER_SETTINGS, ...deps.settings };
    this.settings = settings;
    this.reportRules = deps.reportRules ?? DEFAULT_REPORT_RULES;
    this.resolver = new TaskResolver({ ...deps, settings, now: this.now });
    this.incidents = new ManifestIncidents({ ...deps, dispatcher: deps.digests, now: this.now });
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
   * Attestations of an HTTP(S) task's digests, by the calling agent for itself while it holds the
   * task's back-to-source lease and is not withheld for bad data. S3 tasks' digests come from the
   * control plane only (403). A digest that conflicts with a known one is an incident (see
   * ManifestIncidents), never first-writer-wins: the task is quarantined and the call answers 409.
   */
  async publishDigests(taskId: string, request: PublishDigestsRequest, caller: Caller): Promise<{ accepted: number; digestCount: number }> {
    const agent = agentOf(caller);
    requireSelf(agent, request.peerId);
    const task = await this.resolver.require(taskId);
    const context = { taskId, peerId: agent.peerId };
    if (digestSourceOf(task) === 'origin') throw new ForbiddenError('digests of S3 tasks are computed by the control plane; agents may not publish them', { context });
    if (quarantined(task, this.now())) throw new ForbiddenError('this task is quarantined; its manifest is being derived again', { context });
    const site = agent.site ?? request.site ?? DEFAULTS.site;
    await this.requireLease(task, agent.peerId, site);
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
      if (error instanceof ConflictError) await this.incidents.raise(task, 'conflict', { peerId: agent.peerId, site });
      throw error;
    }
  }

  /**
   * A lease holder read bytes of a piece whose digest differs from the vouched one. Only the
   * lease holder, for itself, may report (it read the origin); a report that matches the manifest is no incident.
   */
  async reportIncident(taskId: string, request: IncidentRequest, caller: Caller): Promise<{ quarantined: boolean }> {
    const agent = agentOf(caller);
    requireSelf(agent, request.peerId);
    const task = await this.resolver.require(taskId);
    await this.requireLease(task, agent.peerId, agent.site ?? request.site ?? DEFAULTS.site);
    if (request.piece >= task.pieceCount) throw new BadRequestError(`piece ${request.piece} is outside 0..${task.pieceCount - 1}`);
    const known = (await this.deps.manifests.get(taskId)).get(request.piece);
    if (known === undefined || known === request.digest) return { quarantined: quarantined(task, this.now()) };
    await this.incidents.raise(task, 'incident', { peerId: agent.peerId, piece: request.piece, read: request.digest, vouched: known });
    return { quarantined: true };
  }

  /** Vouched digests; none while the task is quarantined. An agent reads only tasks its cluster admits. */
  async manifest(taskId: string, caller: Caller): Promise<ManifestResponse> {
    const task = await this.resolver.require(taskId);
    await this.admitted(task, caller);
    if (quarantined(task, this.now())) return { digests: {}, digestCount: 0 };
    const digests = toDigestMap(await this.deps.manifests.get(taskId));
    return { digests, digestCount: Object.keys(digests).length };
  }

  /** ForbiddenError unless `peerId` holds a back-to-source lease of the task in `site` and is not withheld for bad data. */
  private async requireLease(task: TaskRecord, peerId: string, site: string): Promise<void> {
    const withheld = weighReports(task.reports, this.now(), this.reportRules).withheld.has(peerId);
    if (withheld || !(await this.deps.grants.holds(task.id, site, peerId, this.now()))) {
      throw new ForbiddenError('only the agent granted back-to-source may do this', { context: { taskId: task.id, peerId } });
    }
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
    return { task: toTaskInfo(task, this.now()), peers: await this.deps.peers.list(task.id, task.shards), blocked };
  }

  /** The operator reads every task; an agent only those its cluster's allowlist admits. */
  private async admitted(task: TaskRecord, caller: Caller): Promise<void> {
    if (caller.identity.kind !== 'agent') return;
    const settings = await settingsFor(this.settings, this.deps.clusters, caller.identity.cluster);
    if (!taskAllowed(task, settings.allowedOrigins)) {
      throw new ForbiddenError("this task is outside the caller's cluster's allowed origins", { context: { taskId: task.id } });
    }
  }
}
