import { DEFAULTS } from '../../core/constants.ts';
import { parseOriginUrl } from '../../core/origin-url.ts';
import type { PeerRecord } from '../domain/peer.ts';
import type { TaskRecord } from '../domain/task.ts';

/** A task as the operator's task list shows it. */
export interface TaskSummary {
  readonly id: string;
  /** The task's canonical URL (keys percent-encoded once). */
  readonly url: string;
  /** The same URL with the key decoded, as a person reads it. */
  readonly displayUrl: string;
  /** S3's ETag, or an HTTP origin's version tag. */
  readonly etag: string;
  /** The S3 version the URL pins, if any. */
  readonly versionId?: string;
  /** Bytes. */
  readonly size: number;
  readonly pieceCount: number;
  readonly peerCount: number;
  readonly createdAt: string;
  /** `pulling` while a live peer is still downloading; `done` once peers hold it and none pulls; `failed` when every live peer failed; `idle` with no live peer. */
  readonly state: 'pulling' | 'done' | 'failed' | 'idle';
  /** Mean share of the pieces the live peers hold, 0..1. */
  readonly progress: number;
  readonly peers: { readonly live: number; readonly finished: number; readonly failed: number };
  /** What all peers read from S3 (or the HTTP origin), bytes, and that as a multiple of the object: the figure `mayfly stat` prints. */
  readonly bytesFromOrigin: number;
  readonly originPerObject: number;
  readonly bytesFromPeers: number;
}

/** A pull that failed, with the reason its agent gave. */
export interface PullFailure {
  readonly taskId: string;
  readonly displayUrl: string;
  readonly peerId: string;
  readonly site: string;
  readonly reason: string;
  readonly at: string;
}

export function summarizeTask(task: TaskRecord, peers: readonly PeerRecord[] = [], now = Date.now()): TaskSummary {
  const live = peers.filter((peer) => now - peer.updatedAt <= Math.max(DEFAULTS.peerStaleMs, 3 * (peer.intervalMs ?? 0)));
  const failed = live.filter((peer) => peer.failed);
  const finished = live.filter((peer) => peer.finished && !peer.failed);
  const working = live.filter((peer) => !peer.failed);
  const bytesFromOrigin = peers.reduce((sum, peer) => sum + peer.bytesFromOrigin, 0);
  const share = (peer: PeerRecord) => (task.pieceCount === 0 ? 1 : Math.min(1, peer.completed / task.pieceCount));
  const { displayUrl, versionId } = describeUrl(task.url);
  return {
    id: task.id,
    url: task.url,
    displayUrl,
    etag: task.etag,
    ...(versionId ? { versionId } : {}),
    size: task.size,
    pieceCount: task.pieceCount,
    peerCount: task.peerCount,
    createdAt: new Date(task.createdAt).toISOString(),
    state: live.length === 0 ? 'idle' : working.length === 0 ? 'failed' : finished.length === working.length ? 'done' : 'pulling',
    progress: working.length === 0 ? 0 : working.reduce((sum, peer) => sum + share(peer), 0) / working.length,
    peers: { live: live.length, finished: finished.length, failed: failed.length },
    bytesFromOrigin,
    originPerObject: task.size === 0 ? 0 : bytesFromOrigin / task.size,
    bytesFromPeers: peers.reduce((sum, peer) => sum + peer.bytesFromPeers, 0),
  };
}

export function failuresOf(task: TaskRecord, peers: readonly PeerRecord[]): PullFailure[] {
  const { displayUrl } = describeUrl(task.url);
  return peers
    .filter((peer) => peer.failed)
    .map((peer) => ({ taskId: task.id, displayUrl, peerId: peer.peerId, site: peer.site, reason: peer.reason ?? 'no reason given', at: new Date(peer.updatedAt).toISOString() }));
}

/** `s3://bucket/sub%20dir/%C3%BCn.bin?versionId=v1` → `s3://bucket/sub dir/ün.bin` and `v1`. */
function describeUrl(url: string): { displayUrl: string; versionId?: string } {
  try {
    const location = parseOriginUrl(url);
    if (location.kind !== 's3') return { displayUrl: url };
    return { displayUrl: `s3://${location.bucket}/${location.key}`, ...(location.versionId ? { versionId: location.versionId } : {}) };
  } catch {
    return { displayUrl: url };
  }
}
