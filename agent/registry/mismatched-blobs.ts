import { IntegrityError } from '../../core/errors.ts';

/** How long a blob that hashed to other bytes is answered straight from the registry (10 min). */
export const MISMATCH_MEMORY_MS = 10 * 60_000;
/** Blobs remembered at most; the oldest is forgotten first. */
const MAX_REMEMBERED = 1024;

/**
 * Registry blobs whose bytes, read from the registry's storage, did not match their digest.
 * The storage serves the same bytes again, so reading it again for the runtime's next try
 * cannot help: for a while the mirror answers such a blob with the registry's own redirect,
 * without pulling it (the runtime then sees the mismatch itself, from the registry).
 * Keyed by task URL (registry, repository, digest); `now` in ms.
 */
export class MismatchedBlobs {
  private readonly seen = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now, private readonly memoryMs = MISMATCH_MEMORY_MS) {}

  remember(taskUrl: string): void {
    this.seen.delete(taskUrl);
    this.seen.set(taskUrl, this.now());
    if (this.seen.size > MAX_REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
  }

  /** Whether this blob mismatched within the memory window. */
  has(taskUrl: string): boolean {
    const at = this.seen.get(taskUrl);
    if (at === undefined) return false;
    if (this.now() - at < this.memoryMs) return true;
    this.seen.delete(taskUrl);
    return false;
  }
}

/** A whole blob hashed to other bytes than its digest names (not a piece's transient failure). */
export class BlobDigestMismatchError extends IntegrityError {}
