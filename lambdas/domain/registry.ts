import type { ObjectHead } from './origin.ts';

/**
 * The scheduler's check of a registry proof: the 307 `Location` a registry gave a host
 * for its own blob request (core/registry-blob.ts). Reading it must succeed without any
 * credential of the scheduler's, so only a host the registry let in can present one.
 */
export interface RegistryProofReader {
  /**
   * Size and strong ETag of the object the proof URL names. ForbiddenError when the
   * storage refuses the URL (expired, tampered), NotFoundError, UnavailableError as it answers.
   */
  read(proofUrl: string): Promise<ObjectHead>;
}
