/**
 * Who vouches for a task's digests: `origin`, the control plane read them from S3
 * itself (lambdas/digest/); `attested`, the back-to-source holder of an HTTP(S)
 * origin the control plane may not reach published them.
 */
export type DigestSource = 'origin' | 'attested';

/** Piece digests of a task: written once each (by the digest service or an attesting lease holder), read by everyone. */
export interface ManifestStore {
  /** Stores digests (piece index → sha256 hex); returns how many were new. Conflicting digests throw ConflictError. */
  put(taskId: string, digests: ReadonlyMap<number, string>, source?: DigestSource): Promise<number>;
  get(taskId: string): Promise<Map<number, string>>;
  /** Removes every digest of the task and zeroes its count, so the manifest can be derived again. */
  clear(taskId: string): Promise<void>;
}
