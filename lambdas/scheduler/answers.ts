import { CREDENTIAL_LIFETIME_MS, issueCredential, type PeerSigningKey } from '../../core/peer-credential.ts';
import type { OriginLocation } from '../../core/origin-url.ts';
import { isPackUrl } from '../../core/pack.ts';
import { HTTP_ORIGINS_MAX, type AnnounceResponse, DigestMap, ParentInfo, TaskInfo } from '../../core/wire/scheduler.ts';
import type { OriginReader } from '../domain/origin.ts';
import type { PeerRecord } from '../domain/peer.ts';
import { quarantined, type PackRecord, type TaskRecord } from '../domain/task.ts';
import type { DigestSource } from '../domain/manifest.ts';

/** Records → the scheduler's wire answers. */

/** Lifetime of a presigned back-to-source URL; the holder gets a fresh one with each announce. */
export const PRESIGN_SECONDS = 15 * 60;

export function toTaskInfo(task: TaskRecord, now = Date.now()): TaskInfo {
  return {
    id: task.id, url: task.url, size: task.size, etag: task.etag, pieceLength: task.pieceLength, pieceCount: task.pieceCount,
    digestSource: digestSourceOf(task), ...(quarantined(task, now) ? { quarantined: true } : {}),
  };
}

/** S3 objects the control plane reads itself; HTTP(S) origins it may not reach are attested by the lease holder. */
export function digestSourceOf(task: Pick<TaskRecord, 'url'>): DigestSource {
  // A pack's members are S3 objects the control plane reads, as it reads one object.
  return task.url.startsWith('s3://') || isPackUrl(task.url) ? 'origin' : 'attested';
}

export function toParentInfo(peer: PeerRecord): ParentInfo {
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

export function toDigestMap(digests: ReadonlyMap<number, string>): DigestMap {
  const map: DigestMap = {};
  for (const [index, digest] of digests) map[String(index)] = digest;
  return map;
}

/**
 * Only agents that got past the allowlist (just now: it runs before every answer) receive a
 * credential, signed for their own peer id and good for 15 minutes; so removing a host's
 * access locks it out of peers within 15 minutes. Undefined without a peer secret.
 */
export function peerAuthFor(signing: PeerSigningKey | undefined, taskId: string, peerId: string, now: number): AnnounceResponse['peerAuth'] {
  if (!signing) return undefined;
  const expiresAt = now + CREDENTIAL_LIFETIME_MS;
  return { publicKey: signing.publicKey, credential: issueCredential(signing, taskId, peerId, expiresAt), expiresAt };
}

/** The cluster's HTTP(S) allowlist entries: the only HTTP origins an agent may fall back to while the scheduler is down. */
export function httpOriginsOf(entries: readonly string[] | undefined): string[] {
  return (entries ?? []).filter((entry) => /^https?:\/\//i.test(entry)).slice(0, HTTP_ORIGINS_MAX);
}

/** Where the back-to-source holder reads: a presigned S3 GET, or the allowlisted HTTP(S) URL itself (nothing to sign). */
export async function sourceOriginFor(location: OriginLocation, origin: OriginReader, now: number): Promise<AnnounceResponse['origin']> {
  if (location.kind === 'http') return { url: location.url, expiresAt: now + PRESIGN_SECONDS * 1000 };
  if (!origin.presignGet) return undefined;
  const url = await origin.presignGet(location.bucket, location.key, location.versionId, PRESIGN_SECONDS);
  return { url, expiresAt: now + PRESIGN_SECONDS * 1000 };
}

/** Where a pack's back-to-source holder reads: one presigned GET per member, in member order. */
export async function packSourceFor(pack: PackRecord, origin: OriginReader, now: number): Promise<AnnounceResponse['origin']> {
  if (!origin.presignGet) return undefined;
  const presign = origin.presignGet.bind(origin);
  const members = await Promise.all(pack.members.map((member) => presign(pack.bucket, member.key, undefined, PRESIGN_SECONDS)));
  return { url: members[0], expiresAt: now + PRESIGN_SECONDS * 1000, members };
}
