import { ForbiddenError, NotFoundError, UnauthorizedError, UnavailableError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { RegistryAuthorizations } from '../../core/registry-authorizations.ts';
import { registryBlobOf } from '../../core/registry-blob.ts';
import type { PullResult } from '../task/task-manager.ts';
import type { RegistryProofs } from './registry-proofs.ts';

export interface BlobPreheatOptions {
  /** The agent's own pull (TaskManager.pull). */
  readonly pull: (url: string) => Promise<{ result: PullResult }>;
  readonly proofs: RegistryProofs;
  /** This host's own registry credentials (MAYFLY_REGISTRY_CREDENTIALS, or ECR with its role). */
  readonly authorizations: Pick<RegistryAuthorizations, 'for'>;
  readonly log: Logger;
  /** Checks the pulled blob against its digest (BlobReads.verify); throws IntegrityError when it does not match. */
  readonly verify: (url: string, digest: string) => Promise<void>;
}

/**
 * A seed's preheat of a registry blob (a job of an image preheat): like a runtime's pull
 * through the mirror, the host first asks the registry for the blob with its own
 * credentials; the registry's 307 is its proof, then the blob is pulled as a task (from
 * the registry's storage if this seed holds the back-to-source grant, else from peers) and
 * the whole blob is checked against its digest, as the mirror does before serving it.
 * Any other URL is pulled as it is.
 * Errors: UnauthorizedError / ForbiddenError when the registry refuses, NotFoundError,
 * UnavailableError (retried by the preheat worker), IntegrityError when the blob's bytes do
 * not match its digest (the item fails with that reason).
 */
export function registryAwarePull(options: BlobPreheatOptions): (url: string) => Promise<{ result: PullResult }> {
  return async (url) => {
    const blob = registryBlobOf(url);
    if (!blob) return options.pull(url);
    const authorization = await options.authorizations.for(new URL(blob.registry).host);
    const answer = await fetch(url, {
      headers: { 'accept-encoding': 'identity', ...(authorization ? { authorization } : {}) },
      redirect: 'manual',
      signal: AbortSignal.timeout(30_000),
    }).catch((cause) => {
      throw new UnavailableError(`cannot reach the registry ${blob.registry}: ${(cause as Error).message}`, { cause });
    });
    await answer.body?.cancel().catch(() => {});
    const location = answer.headers.get('location');
    if (answer.status === 401) throw new UnauthorizedError(`the registry ${blob.registry} wants credentials for ${blob.repository} (set MAYFLY_REGISTRY_CREDENTIALS on this seed, or grant its role ECR pulls)`);
    if (answer.status === 403) throw new ForbiddenError(`the registry ${blob.registry} refused this seed for ${blob.repository}`);
    if (answer.status === 404) throw new NotFoundError(`the registry ${blob.registry} has no blob ${blob.digest} in ${blob.repository}`);
    if (answer.status !== 307 || !location) {
      // A registry that serves blobs itself gives no proof, so the scheduler would refuse this host.
      throw new UnavailableError(`the registry ${blob.registry} answered ${answer.status} without a redirect to its storage for ${blob.digest}`);
    }
    options.proofs.remember(url, new URL(location, url).href);
    options.log.info('registry blob preheat: the registry let this seed in', { repository: blob.repository, digest: blob.digest });
    const pulled = await options.pull(url);
    await options.verify(url, blob.digest);
    return pulled;
  };
}
