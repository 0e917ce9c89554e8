import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnavailableError } from '../../core/errors.ts';
import { verifyCredential } from '../../core/peer-credential.ts';

/** What the scheduler hands out with an announce answer (AnnounceResponse.peerAuth). */
export interface PeerGrant {
  /** Checks children's credentials for the task. */
  readonly taskKey: string;
  /** This agent's own credential for the task, shown to its parents. */
  readonly credential: string;
}

/** Marker file in the data dir: present once this agent has been told to require credentials. */
const REQUIRED_MARKER = 'peer-auth-required';

/**
 * Peer access on this agent: the task keys children's credentials are checked
 * with, this agent's credential per task, and the "auth required" latch. Once
 * the scheduler has handed out credentials, this agent refuses peers without
 * one, also after a restart, before it has announced again (the latch is kept
 * as a marker file). Keys and credentials are memory only.
 */
export class PeerAuth {
  private readonly grants = new Map<string, PeerGrant>();
  private latched = false;

  constructor(private readonly dataDir: string) {}

  /** Reads the latch a previous run left. */
  async load(): Promise<void> {
    this.latched = await stat(join(this.dataDir, REQUIRED_MARKER)).then(() => true, () => false);
  }

  /** Whether children must show a credential. */
  get required(): boolean {
    return this.latched;
  }

  /** Takes the scheduler's grant for `taskId` and latches "auth required" (resolves once the marker is written, best effort). */
  async grant(taskId: string, grant: PeerGrant): Promise<void> {
    this.grants.set(taskId, { taskKey: grant.taskKey, credential: grant.credential });
    if (this.latched) return;
    this.latched = true;
    await writeFile(join(this.dataDir, REQUIRED_MARKER), 'Peers must present a scheduler-issued credential.\n').catch(() => {});
  }

  /** This agent's current credential for `taskId`, for its parents. */
  credential(taskId: string): string | undefined {
    return this.grants.get(taskId)?.credential;
  }

  /**
   * Checks a child's credential header for `taskId` (when required). Throws
   * UnavailableError while the task key is not known yet (retry shortly), and
   * 401/403 for a missing or bad credential (core/peer-credential.ts).
   */
  check(taskId: string, credential: string | undefined, now = Date.now()): void {
    if (!this.latched) return;
    const key = this.grants.get(taskId)?.taskKey;
    if (!key) throw new UnavailableError('peer key for this task not known yet', { context: { retryAfterMs: 1000 } });
    verifyCredential(key, taskId, credential, now);
  }

  /** Drops the task's key and credential (the task left this agent's cache). */
  forget(taskId: string): void {
    this.grants.delete(taskId);
  }
}
