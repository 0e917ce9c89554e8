/**
 * Per-identity cap on task registrations, so one host (even with a valid
 * credential) cannot flood the control plane or a swarm. Peer ids are bound to
 * identities, so each identity already holds at most one peer record per task;
 * this bounds how many tasks it may join per minute.
 */

/** Counted per identity per minute. */
export const REGISTRATION_WINDOW_MS = 60_000;

/**
 * 600 a minute (10 a second, sustained): far above what an honest agent
 * does — a `mayfly get` is one registration, a seed preheating a prefix pulls a
 * few objects at a time, each taking longer than 100 ms — yet it stops a flood
 * within a minute.
 */
export const DEFAULT_REGISTRATIONS_PER_MINUTE = 600;

/** Errors: UnavailableError when the state store throttles or is down. */
export interface RegistrationCounter {
  /** Counts one registration of `peerId` in the window starting at `windowStart`; false when `cap` were already counted. */
  take(peerId: string, windowStart: number, cap: number): Promise<boolean>;
}

/** The window `now` falls in, and how long until it ends (ms). */
export function registrationWindow(now: number): { start: number; retryAfterMs: number } {
  const start = now - (now % REGISTRATION_WINDOW_MS);
  return { start, retryAfterMs: start + REGISTRATION_WINDOW_MS - now };
}
