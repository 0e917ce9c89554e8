import { DEFAULTS } from '../../core/constants.ts';
import { ForbiddenError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { selectParents, type SelectParentsOptions } from '../../core/parent-selection.ts';
import type { AnnounceRequest, AnnounceResponse } from '../../core/wire/scheduler.ts';
import type { ManifestStore } from '../domain/manifest.ts';
import type { OriginReader } from '../domain/origin.ts';
import type { PeerRecord, PeerStore } from '../domain/peer.ts';
import { quarantined, type TaskStore } from '../domain/task.ts';
import { peerAuthFor, sourceOriginFor, toDigestMap, toParentInfo, toTaskInfo } from './answers.ts';
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
  readonly peerSecret?: string;
  readonly log: Logger;
  readonly now: () => number;
  readonly random: () => number;
}

/** An agent's announce: resolve → guard → select → grant or defer → record → answer. */
export async function announce(deps: AnnounceDeps, request: AnnounceRequest): Promise<AnnounceResponse> {
  const at = await resolveAnnounce(deps.resolver, request, deps.now);
  await guard(deps, at);
  // A lookup is metadata only: nothing is stored, so the peer is neither a parent nor a grant holder.
  if (request.event === 'lookup') return answer(deps, at, [], false);
  if (quarantined(at.task, at.now)) return quarantinedAnswer(deps, at);
  // A finished or failed peer only heartbeats: no parents, no grant, one write.
  const selected = at.finished || request.event === 'failed' ? undefined : await select(deps, at);
  const source = await grantOrDefer(deps, at, selected);
  await record(deps, at, source);
  return answer(deps, at, selected?.parents ?? [], source);
}

/** A blocked peer is refused; parents it reports for bad data are blocked and lose any grant, so an honest agent can take over. */
async function guard(deps: AnnounceDeps, { task, request, site }: Announcing): Promise<void> {
  if (task.blocked.includes(request.peerId)) {
    throw new ForbiddenError('this peer was reported for serving bad data and is blocked for this task', { context: { taskId: task.id } });
  }
  if (request.event === 'lookup' || !request.badParents?.length) return;
  await deps.tasks.block(task.id, request.badParents);
  await deps.backToSource.release(task.id, site, request.badParents);
  deps.log.warn('parents reported for bad data', { taskId: task.id, peerId: request.peerId, badParents: request.badParents });
}

interface Selected {
  readonly candidates: readonly PeerRecord[];
  readonly parents: readonly PeerRecord[];
  readonly selection: SelectParentsOptions;
}

async function select(deps: AnnounceDeps, at: Announcing): Promise<Selected> {
  const { task, request } = at;
  const selection: SelectParentsOptions = {
    selfPeerId: request.peerId, site: at.site, pieceCount: task.pieceCount, now: at.now, limit: at.settings.parentLimit, random: deps.random,
    staleMs: Math.max(DEFAULTS.peerStaleMs, 3 * at.swarmIntervalMs),
    blocked: new Set([...task.blocked, ...(request.badParents ?? [])]),
    unreachable: new Set(request.unreachable ?? []),
  };
  const candidates = await deps.peers.sample(task.id, task.shards, DEFAULTS.sampleSize, deps.random, task.peerCount);
  return { candidates, parents: selectParents(candidates, selection), selection };
}

/** Whether the asker reads the origin now; a finished or failed peer gives its lease back instead. */
async function grantOrDefer(deps: AnnounceDeps, at: Announcing, selected: Selected | undefined): Promise<boolean> {
  const { task, request, site, settings } = at;
  if (!selected) {
    if (request.event === 'finished' || request.event === 'failed') await deps.backToSource.release(task.id, site, [request.peerId]);
    return false;
  }
  return deps.backToSource.decide({
    ...selected, task, site, now: at.now, peerId: request.peerId, seed: request.seed ?? false, event: request.event, cluster: request.cluster ?? DEFAULTS.site,
    limit: settings.backToSourceLimit, leaseMs: Math.max(settings.sourceLeaseMs, 3 * at.swarmIntervalMs),
  });
}

/** Writes the peer as it announced itself, and counts a registration for shard sizing. */
async function record(deps: AnnounceDeps, { task, request, site, now, completed, finished, intervalMs }: Announcing, source: boolean): Promise<void> {
  if (request.event === 'register') await countRegistration(deps.tasks, task, deps.random);
  const peer: PeerRecord = {
    taskId: task.id, peerId: request.peerId, addr: request.addr, site, seed: request.seed ?? false, finished, source, failed: request.event === 'failed',
    completed, uploads: request.uploads ?? 0, updatedAt: now, intervalMs, bytesFromPeers: request.bytesFromPeers ?? 0, bytesFromOrigin: request.bytesFromOrigin ?? 0,
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
    peerAuth: peerAuthFor(deps.peerSecret, task.id, request.peerId, now),
    origin: source ? await sourceOriginFor(at.location, deps.origin, now) : undefined,
  };
}
