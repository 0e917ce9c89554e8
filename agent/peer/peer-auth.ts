import type { KeyObject } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnavailableError } from '../../core/errors.ts';
import { credentialExpiresAt, parsePublicKey, verifyCredential } from '../../core/peer-credential.ts';

/** What the scheduler hands out with an announce answer (AnnounceResponse.peerAuth). */
export interface PeerGrant {
  /** The scheduler's Ed25519 public key: checks children's credentials, cannot make one. */
  readonly publicKey: string;
  /** This agent's own credential for the task, shown to its parents. */
  readonly credential: string;
}

/**
 * `required` (the default): children must show a credential the scheduler signed.
 * `off`: children are served without one; for a local stack without a peer secret only.
 */
export type PeerAuthMode = 'required' | 'off';

/** The scheduler's public key, kept in the data dir so a restarted agent can check children at once. */
const PUBLIC_KEY_FILE = 'peer-public-key';

/** Credentials remembered as checked: a child shows the same one for every piece, and an Ed25519 verify per request showed in profiles. */
const CHECKED_LIMIT = 4096;

/**
 * Peer access on this agent: the scheduler's public key children's credentials
 * are checked with, and this agent's own credential per task. Required by
 * default, from the first request on: until the public key is known (a fresh
 * agent that has not announced yet) children are answered 503 with a retry
 * hint, never served. Credentials are memory only.
 */
export class PeerAuth {
  private readonly credentials = new Map<string, string>();
  private publicKey?: { readonly text: string; readonly key: KeyObject };
  /** `taskId credential` → the peer it names and its expiry, for credentials this key already verified. */
  private readonly checked = new Map<string, { readonly peerId: string; readonly expiresAtMs: number }>();

  constructor(
    private readonly dataDir: string,
    private readonly mode: PeerAuthMode = 'required',
  ) {}

  /** Reads the public key a previous run kept (an unreadable or malformed file counts as none). */
  async load(): Promise<void> {
    const text = await readFile(join(this.dataDir, PUBLIC_KEY_FILE), 'utf8').then((raw) => raw.trim(), () => undefined);
    if (!text) return;
    try {
      this.publicKey = { text, key: parsePublicKey(text) };
    } catch {
      // A damaged file: the next announce answer brings the key again; until then children wait.
    }
  }

  /** Whether children must show a credential. */
  get required(): boolean {
    return this.mode === 'required';
  }

  /** Takes the scheduler's grant for `taskId`; a new public key is kept in the data dir (resolves once written). */
  async grant(taskId: string, grant: PeerGrant): Promise<void> {
    this.credentials.set(taskId, grant.credential);
    if (this.publicKey?.text === grant.publicKey) return;
    this.publicKey = { text: grant.publicKey, key: parsePublicKey(grant.publicKey) };
    this.checked.clear();
    const path = join(this.dataDir, PUBLIC_KEY_FILE);
    const temp = `${path}.${process.pid}.tmp`;
    // Best effort: without the file a restarted agent refuses children (503) until it announces again.
    await writeFile(temp, `${grant.publicKey}\n`).then(() => rename(temp, path)).catch(() => {});
  }

  /** This agent's current credential for `taskId`, for its parents. */
  credential(taskId: string): string | undefined {
    return this.credentials.get(taskId);
  }

  /**
   * Checks a child's credential header for `taskId` (unless peer auth is off).
   * Throws UnavailableError while the scheduler's public key is not known yet
   * (retry shortly), and 401/403 for a missing or bad credential (core/peer-credential.ts).
   * Returns the child's peer id (undefined when peer auth is off).
   */
  check(taskId: string, credential: string | undefined, now = Date.now()): string | undefined {
    if (this.mode === 'off') return undefined;
    if (!this.publicKey) throw new UnavailableError('peer key not known yet', { context: { retryAfterMs: 1000 } });
    const key = `${taskId} ${credential}`;
    const known = this.checked.get(key);
    if (known && known.expiresAtMs >= now) return known.peerId;
    // Not seen, or expired: the full check answers (and throws the reason).
    const peerId = verifyCredential(this.publicKey.key, taskId, credential, now);
    if (this.checked.size >= CHECKED_LIMIT) this.checked.clear();
    this.checked.set(key, { peerId, expiresAtMs: credentialExpiresAt(credential!) });
    return peerId;
  }

  /** Drops the task's credential (the task left this agent's cache). */
  forget(taskId: string): void {
    this.credentials.delete(taskId);
  }
}
