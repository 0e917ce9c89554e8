import { DEFAULTS } from '../../core/constants.ts';
import { TooManyRequestsError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { PeerSigningKey } from '../../core/peer-credential.ts';
import { selectParents, type SelectParentsOptions } from '../../core/parent-selection.ts';
import type { AnnounceRequest, AnnounceResponse } from '../../core/wire/scheduler.ts';
import { bindSelf } from '../domain/announce-binding.ts';
import { agentOf, type Caller } from '../domain/identity.ts';
import type { ManifestStore } from '../domain/manifest.ts';
import type { OriginReader } from '../domain/origin.ts';
import type { PeerRecord, PeerStore } from '../domain/peer.ts';
import { admitReports, weighReports, type ReportRules, type ReportWeighing } from '../domain/parent-reports.ts';
import { registrationWindow, type RegistrationCounter } from '../domain/registration-limit.ts';
import { quarantined, type TaskStore } from '../domain/task.ts';
import { httpOriginsOf, packSourceFor, peerAuthFor, sourceOriginFor, toDigestMap, toParentInfo, toTaskInfo } from './answers.ts';
import type { BackToSource } from './back-to-source.ts';
import { resolveAnnounce, type Announcing } from './announcing.ts';
import { countRegistration } from './peer-count.ts';
import type { TaskResolver } from './task-resolver.ts';

export interface AnnounceDeps {
  readonly resolver: TaskResolver;
  readonly tasks: TaskStore;
  readonly peers: PeerStore;
  readonly manifests: ManifestStore;
  readonly origin: OriginReader;
  readonly backToSource: BackToSource;
  /** Signs peer credentials; absent, peer auth is off (a local stack without a peer secret). */
  readonly signing?: PeerSigningKey;
  /** Per-identity registration counter; absent: no limit (unit setups). */
  readonly registrations?: RegistrationCounter;
  readonly registrationsPerMinute: number;
  readonly reportRules: ReportRules;
  readonly log: Logger;
  readonly now: () => number;
  readonly random: () => number;
}

/**
 * An agent's announce: bind → limit → resolve → weigh reports → select → grant or defer → record → answer.
 * The caller speaks only for itself: peer id, cluster, site and role come from its identity,
 * and its advertised address must be its own (domain/announce-binding.ts).
 */
export async function announce(deps: AnnounceDeps, body: AnnounceRequest, caller: Caller): Promise<AnnounceResponse> {
  const self = bindSelf(agentOf(caller), body, caller.sourceIp);
  const request: AnnounceRequest = { ...body, peerId: self.peerId, cluster: self.cluster, site: self.site, seed: self.seed };
  if (request.event === 'register') await admitRegistration(deps, self.peerId);
  const at = await resolveAnnounce(deps.resolver, request, deps.now);
  const reports = await weigh(deps, at);
  // A lookup is metadata only: nothing is stored, so the peer is neither a parent nor a grant holder.
  if (request.event === 'lookup') return answer(deps, at, [], false);
  if (quarantined(at.task, at.now)) return quarantinedAnswer(deps, at);
  // A finished or failed peer only heartbeats: no parents, no grant, one write.
  const selected = at.finished || request.event === 'failed' ? undefined : await select(deps, at, reports);
  const source = await grantOrDefer(deps, at, selected);
  await record(deps, at, source);
  return answer(deps, at, selected?.parents ?? [], source);
}

/** Each identity may register for at most `registrationsPerMinute` tasks a minute (429 past it). */
async function admitRegistration(deps: AnnounceDeps, peerId: string): Promise<void> {
  if (!deps.registrations) return;
  const window = registrationWindow(deps.now());
  if (await deps.registrations.take(peerId, window.start, deps.registrationsPerMinute)) return;
  deps.log.warn('registrations over the per-identity limit', { peerId, limit: deps.registrationsPerMinute });
  throw new TooManyRequestsError(`at most ${deps.registrationsPerMinute} task registrations a minute per agent`, {
    context: { retryAfterMs: window.retryAfterMs },
  });
}

/**
 * Reports about parents are evidence: this announce's reports about peers registered
 * for the task are added, and the task's reports weighed (domain/parent-reports.ts).
 * A peer withheld by them loses the lease it held in the reporter's site; nobody is
 * refused the object for being reported.
 */
async function weigh(deps: AnnounceDeps, { task, request, site, now }: Announcing): Promise<ReportWeighing> {
  const named = request.event === 'lookup' ? [] : (request.badParents ?? []).filter((peer) => peer !== request.peerId);
  let reports = task.reports;
  if (named.length) {
    const known = await Promise.all(named.map(async (peer) => ((await deps.peers.has(task.id, peer, task.shards)) ? peer : undefined)));
    const fresh = admitReports(request.peerId, named, new Set(known.filter((peer) => peer !== undefined)), now, reports.length);
    if (fresh.length) {
      await deps.tasks.report(task.id, fresh);
      reports = [...reports, ...fresh];
    }
    deps.log.warn('parents reported for bad data', { taskId: task.id, peerId: request.peerId, badParents: named, counted: fresh.length });
  }
  const weighing = weighReports(reports, now, deps.reportRules);
  if (weighing.expired.length) await deps.tasks.forgetReports(task.id, weighing.expired);
  const before = weighReports(task.reports, now, deps.reportRules).withheld;
  const newlyWithheld = [...weighing.withheld].filter((peer) => !before.has(peer));
  if (newlyWithheld.length) {
    await deps.backToSource.release(task.id, site, newlyWithheld);
    deps.log.warn('parents withheld: reported by enough identities', { taskId: task.id, withheld: newlyWithheld });
  }
  return weighing;
}

interface Selected {
  readonly candidates: readonly PeerRecord[];
  readonly parents: readonly PeerRecord[];
  readonly selection: SelectParentsOptions;
}

async function select(deps: AnnounceDeps, at: Announcing, reports: ReportWeighing): Promise<Selected> {
  const { task, request } = at;
  const selection: SelectParentsOptions = {
    selfPeerId: request.peerId, site: at.site, pieceCount: task.pieceCount, now: at.now, limit: at.settings.parentLimit, random: deps.random,
    staleMs: Math.max(DEFAULTS.peerStaleMs, 3 * at.swarmIntervalMs),
    blocked: new Set([...reports.withheld, ...reports.reportedBy(request.peerId), ...(request.badParents ?? [])]),
    unreachable: new Set(request.unreachable ?? []),
  };
  const candidates = await deps.peers.sample(task.id, task.shards, DEFAULTS.sampleSize, deps.random, task.peerCount);
  return { candidates, parents: selectParents(candidates, selection), selection };
}

/**
 * Whether the asker reads the origin now. A failed peer, or one finished with every digest known,
 * gives its lease back; a holder that has read every piece before the digests came keeps it.
 */
async function grantOrDefer(deps: AnnounceDeps, at: Announcing, selected: Selected | undefined): Promise<boolean> {
  const { task, request, site, settings } = at;
  const lease = { taskId: task.id, site, peerId: request.peerId, now: at.now, limit: settings.backToSourceLimit, leaseMs: Math.max(settings.sourceLeaseMs, 3 * at.swarmIntervalMs) };
  if (!selected) {
    if (request.event !== 'failed' && task.digestCount < task.pieceCount) return deps.backToSource.keep(lease);
    if (request.event === 'finished' || request.event === 'failed') await deps.backToSource.release(task.id, site, [request.peerId]);
    return false;
  }
  return deps.backToSource.decide({
    ...selected, task, site, now: at.now, peerId: request.peerId, seed: request.seed ?? false, event: request.event, cluster: request.cluster ?? DEFAULTS.site,
    limit: lease.limit, leaseMs: lease.leaseMs,
  });
}

/** Writes the peer as it announced itself, and counts a registration for shard sizing. */
async function record(deps: AnnounceDeps, { task, request, site, now, completed, finished, intervalMs }: Announcing, source: boolean): Promise<void> {
  if (request.event === 'register') await countRegistration(deps.tasks, task, deps.random);
  const peer: PeerRecord = {
    taskId: task.id, peerId: request.peerId, addr: request.addr, site, seed: request.seed ?? false, finished, source, failed: request.event === 'failed',
    completed, uploads: request.uploads ?? 0, updatedAt: now, intervalMs, bytesFromPeers: request.bytesFromPeers ?? 0, bytesFromOrigin: request.bytesFromOrigin ?? 0,
    ...(request.event === 'failed' && request.reason ? { reason: request.reason } : {}),
  };
  await deps.peers.put(peer, task.shards, DEFAULTS.peerTtlSeconds);
}

/**
 * A quarantined task's manifest is distrusted: no parents and no digests, and every puller reads
 * the origin itself (a presigned GET for S3, so hosts still need no S3 permission of their own).
 * No lease is taken, so nobody may attest until the quarantine ends.
 */
async function quarantinedAnswer(deps: AnnounceDeps, at: Announcing): Promise<AnnounceResponse> {
  await record(deps, at, false);
  return answer(deps, at, [], !at.finished && at.request.event !== 'failed');
}

async function answer(deps: AnnounceDeps, at: Announcing, parents: readonly PeerRecord[], source: boolean): Promise<AnnounceResponse> {
  const { task, request, now } = at;
  const stale = request.event !== 'lookup' && !quarantined(task, now) && task.digestCount > (request.digestsKnown ?? 0);
  const digests = stale ? toDigestMap(await deps.manifests.get(task.id)) : undefined;
  return {
    task: toTaskInfo(task, now),
    parents: parents.map(toParentInfo),
    backToSource: source,
    digests,
    digestCount: digests ? Object.keys(digests).length : task.digestCount,
    announceIntervalMs: at.intervalMs,
    // A lookup reads metadata only: it gets no credential, so it can never fetch pieces from peers.
    peerAuth: request.event === 'lookup' ? undefined : peerAuthFor(deps.signing, task.id, request.peerId, now),
    httpOrigins: httpOriginsOf(at.settings.allowedOrigins),
    // A registry blob is read where the asker's own proof points (the registry signed it for that host).
    origin: source ? (at.sourceUrl ? { url: at.sourceUrl, expiresAt: now + 60_000 } : task.pack ? await packSourceFor(task.pack, deps.origin, now) : await sourceOriginFor(at.location, deps.origin, now)) : undefined,
  };
}
