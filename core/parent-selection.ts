/**
 * Parent choice: a pure function so it can be reasoned about and unit-tested.
 * Prefer peers of the same site, with more pieces, less upload load, seeds;
 * randomise among near-equals so a swarm forms a mesh rather than a star.
 */
export interface PeerCandidate {
  readonly peerId: string;
  readonly addr: string;
  readonly site: string;
  readonly seed: boolean;
  readonly finished: boolean;
  /** Holds a live back-to-source grant, so it will have every piece soon. */
  readonly source: boolean;
  readonly failed: boolean;
  readonly completed: number;
  readonly uploads: number;
  readonly updatedAt: number;
  /** The announce interval this peer was given; a peer is stale after three missed announces. */
  readonly intervalMs?: number;
}

export interface SelectParentsOptions {
  readonly selfPeerId: string;
  readonly site: string;
  readonly pieceCount: number;
  readonly now: number;
  readonly staleMs: number;
  readonly limit: number;
  readonly blocked?: ReadonlySet<string>;
  /** Peers the asking agent cannot reach; ignored for this answer only. */
  readonly unreachable?: ReadonlySet<string>;
  /** Allow parents from other sites (default false: swarms stay site-local). */
  readonly crossSite?: boolean;
  readonly random?: () => number;
}

export function isUsablePeer(peer: PeerCandidate, options: SelectParentsOptions): boolean {
  if (peer.peerId === options.selfPeerId) return false;
  if (peer.failed) return false;
  if (options.blocked?.has(peer.peerId)) return false;
  if (options.now - peer.updatedAt > Math.max(options.staleMs, 3 * (peer.intervalMs ?? 0))) return false;
  if (options.unreachable?.has(peer.peerId)) return false;
  if (!options.crossSite && peer.site !== options.site) return false;
  return true;
}

export function scorePeer(peer: PeerCandidate, options: SelectParentsOptions): number {
  const progress = options.pieceCount > 0 ? peer.completed / options.pieceCount : 1;
  let score = progress * 4;
  if (peer.finished) score += 2;
  if (peer.source) score += 2;
  if (peer.seed) score += 3;
  if (peer.site === options.site) score += 8;
  score -= Math.min(4, peer.uploads / 4);
  return score;
}

export function selectParents<T extends PeerCandidate>(candidates: readonly T[], options: SelectParentsOptions): T[] {
  const random = options.random ?? Math.random;
  const seen = new Set<string>();
  const scored: { peer: T; score: number }[] = [];
  for (const peer of candidates) {
    if (seen.has(peer.peerId) || !isUsablePeer(peer, options)) continue;
    seen.add(peer.peerId);
    // Jitter of up to 1.5 points: near-equals shuffle, clearly better peers still win.
    scored.push({ peer, score: scorePeer(peer, options) + random() * 1.5 });
  }
  scored.sort((a, b) => b.score - a.score);
  return scored.slice(0, Math.max(0, options.limit)).map((entry) => entry.peer);
}

/** True when a usable peer already has, or is fetching, the whole object. */
export function hasCompleteSource(candidates: readonly PeerCandidate[], options: SelectParentsOptions): boolean {
  return candidates.some((peer) => isUsablePeer(peer, options) && (peer.finished || peer.source || peer.seed));
}
