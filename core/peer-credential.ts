import { createHmac, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, UnauthorizedError } from './errors.ts';

/**
 * Peer access is granted by the scheduler. For each task it derives a task key
 * from a secret only the control plane holds, and hands it (with a short-lived
 * credential) only to agents allowed to read the task. Parents check a child's
 * credential with the task key, so a host the scheduler refused cannot get the
 * task's bytes from peers either.
 *
 *   taskKey    = HMAC(secret, "mayfly-task-key\n" + taskId)
 *   credential = peerId "." expiresAtMs "." base64url(HMAC(taskKey, taskId "\n" peerId "\n" expiresAtMs))
 */
export const PEER_CREDENTIAL_HEADER = 'x-mayfly-peer-credential';
export const CREDENTIAL_LIFETIME_MS = 15 * 60_000;

export function deriveTaskKey(secret: string, taskId: string): string {
  return createHmac('sha256', secret).update(`mayfly-task-key\n${taskId}`).digest('base64url');
}

export function issueCredential(taskKey: string, taskId: string, peerId: string, expiresAtMs: number): string {
  return `${peerId}.${expiresAtMs}.${mac(taskKey, taskId, peerId, expiresAtMs)}`;
}

/** Returns the child's peer id, or throws 401 (missing/malformed) / 403 (bad or expired). */
export function verifyCredential(taskKey: string, taskId: string, credential: string | undefined, now: number): string {
  if (!credential) throw new UnauthorizedError('peer credential required');
  const match = /^([A-Za-z0-9._-]{1,64})\.(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(credential);
  if (!match) throw new UnauthorizedError('malformed peer credential');
  const [, peerId, expires, given] = match;
  const expiresAtMs = Number(expires);
  const expected = Buffer.from(mac(taskKey, taskId, peerId, expiresAtMs));
  if (!timingSafeEqual(expected, Buffer.from(given))) throw new ForbiddenError('peer credential is not valid for this task');
  if (expiresAtMs < now) throw new ForbiddenError('peer credential expired');
  return peerId;
}

function mac(taskKey: string, taskId: string, peerId: string, expiresAtMs: number): string {
  return createHmac('sha256', taskKey).update(`${taskId}\n${peerId}\n${expiresAtMs}`).digest('base64url');
}
