import { DEFAULTS } from '../../core/constants.ts';

/** Small swarms announce every second; big ones back off to keep writes per key bounded. */
export function announceIntervalFor(peerCount: number): number {
  return Math.min(DEFAULTS.maxAnnounceIntervalMs, Math.max(DEFAULTS.minAnnounceIntervalMs, peerCount * 3));
}

/** Finished peers only heartbeat (they need no parents), so they do it ten times less often. */
export function heartbeatIntervalFor(swarmIntervalMs: number): number {
  return Math.min(DEFAULTS.maxAnnounceIntervalMs, 10 * swarmIntervalMs);
}
