/** Piece digests of a task: written once each by the back-to-source holder, read by everyone. */
export interface ManifestStore {
  /** Stores digests (piece index → sha256 hex); returns how many were new. Conflicting digests throw ConflictError. */
  put(taskId: string, digests: ReadonlyMap<number, string>): Promise<number>;
  get(taskId: string): Promise<Map<number, string>>;
}
