import { createPrivateKey, createPublicKey, hkdfSync, sign, verify, type KeyObject } from 'node:crypto';
import { BadRequestError, ForbiddenError, UnauthorizedError } from './errors.ts';

/**
 * Peer access is granted by the scheduler, and only the scheduler can grant it.
 * It holds an Ed25519 private key (derived from the control plane's peer secret)
 * and signs, for each agent the allowlist admits, a short-lived credential naming
 * the task, that agent's peer id and an expiry. Agents hold only the public key:
 * a parent can check a child's credential but cannot mint one, so a host the
 * scheduler refused (or no longer admits) cannot get the task's bytes from peers.
 *
 *   seed       = HKDF-SHA256(secret, salt "", info "mayfly-peer-credential-ed25519", 32 bytes)
 *   credential = peerId "." expiresAtMs "." base64url(Ed25519(seed, "mayfly-peer-credential/v1\n" taskId "\n" peerId "\n" expiresAtMs))
 *   publicKey  = base64url(raw 32-byte Ed25519 public key)
 */
export const PEER_CREDENTIAL_HEADER = 'x-mayfly-peer-credential';
export const CREDENTIAL_LIFETIME_MS = 15 * 60_000;
/** Clock skew a verifier tolerates between the scheduler and itself. */
export const CREDENTIAL_SKEW_MS = 60_000;

/** The scheduler's signing key and the public key agents check with. */
export interface PeerSigningKey {
  readonly privateKey: KeyObject;
  /** base64url of the raw 32-byte Ed25519 public key, as sent in announce answers. */
  readonly publicKey: string;
}

// PKCS#8 DER of an Ed25519 private key is this fixed prefix followed by the 32-byte seed (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Derives the scheduler's Ed25519 key from the peer secret (deterministic: every scheduler instance signs alike). */
export function derivePeerSigningKey(secret: string): PeerSigningKey {
  const seed = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'mayfly-peer-credential-ed25519', 32));
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return { privateKey, publicKey: String(jwk.x) };
}

/** The verifying key from its wire form; BadRequestError when it is not an Ed25519 public key. */
export function parsePublicKey(publicKey: string): KeyObject {
  if (!/^[A-Za-z0-9_-]{43}$/.test(publicKey)) throw new BadRequestError('peer public key must be 32 bytes, base64url');
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey }, format: 'jwk' });
  } catch (cause) {
    throw new BadRequestError('peer public key is not an Ed25519 key', { cause });
  }
}

export function issueCredential(key: PeerSigningKey, taskId: string, peerId: string, expiresAtMs: number): string {
  const signature = sign(null, message(taskId, peerId, expiresAtMs), key.privateKey).toString('base64url');
  return `${peerId}.${expiresAtMs}.${signature}`;
}

/** `peerId.expiresAtMs.signature` (Ed25519, base64url). */
const CREDENTIAL_FORMAT = /^([A-Za-z0-9._-]{1,64})\.(\d{1,16})\.([A-Za-z0-9_-]{86})$/;

/** The expiry (epoch ms) a well-formed credential names; NaN for anything else. Says nothing about its signature. */
export function credentialExpiresAt(credential: string): number {
  return Number(CREDENTIAL_FORMAT.exec(credential)?.[2] ?? NaN);
}

/**
 * Returns the child's peer id, or throws 401 (missing/malformed) / 403 (not signed
 * by the scheduler for this task, expired, or expiring further ahead than the
 * scheduler ever issues: a credential is never good for more than 15 minutes).
 */
export function verifyCredential(publicKey: KeyObject, taskId: string, credential: string | undefined, now: number): string {
  if (!credential) throw new UnauthorizedError('peer credential required');
  const match = CREDENTIAL_FORMAT.exec(credential);
  if (!match) throw new UnauthorizedError('malformed peer credential');
  const [, peerId, expires, signature] = match;
  const expiresAtMs = Number(expires);
  if (!verify(null, message(taskId, peerId, expiresAtMs), publicKey, Buffer.from(signature, 'base64url'))) {
    throw new ForbiddenError('peer credential is not valid for this task');
  }
  if (expiresAtMs < now) throw new ForbiddenError('peer credential expired');
  if (expiresAtMs > now + CREDENTIAL_LIFETIME_MS + CREDENTIAL_SKEW_MS) throw new ForbiddenError('peer credential expires too far ahead');
  return peerId;
}

function message(taskId: string, peerId: string, expiresAtMs: number): Buffer {
  return Buffer.from(`mayfly-peer-credential/v1\n${taskId}\n${peerId}\n${expiresAtMs}`);
}
