import { BadRequestError, ForbiddenError } from '../../core/errors.ts';
import type { OriginLocation } from '../../core/origin-url.ts';
import { admittedRegistryBlob, registryStorageAdmits } from '../../core/registry-blob.ts';
import type { ObjectHead } from '../domain/origin.ts';
import type { RegistryProofReader } from '../domain/registry.ts';

/**
 * A registry blob's admission (core/registry-blob.ts): the asker must show the 307 Location
 * the registry gave its own request, on storage a `registry-storage+` entry admits, and the
 * storage must serve it. The object it names pins the task (its ETag), so a proof of another
 * object makes another task, never a way into this one's swarm. Undefined for any URL that
 * is no registry blob admitted by a `registry+` entry.
 */
export async function checkRegistryProof(
  reader: RegistryProofReader | undefined,
  location: OriginLocation,
  entries: readonly string[] | undefined,
  proof: string | undefined,
): Promise<ObjectHead | undefined> {
  const blob = admittedRegistryBlob(location, entries);
  if (!blob) {
    if (proof) throw new BadRequestError('registryProof is only for registry blob URLs under a registry+ allowlist entry');
    return undefined;
  }
  const where = `${blob.registry}/${blob.repository}@${blob.digest}`;
  if (!reader) throw new BadRequestError('this scheduler does not admit registry blobs', { context: { url: where } });
  if (!proof) {
    throw new ForbiddenError(`${where}: a registry blob is shared only with hosts the registry let in: show the 307 Location it gave your own request (registryProof)`);
  }
  if (!(entries ?? []).some((entry) => registryStorageAdmits(entry, proof))) {
    throw new ForbiddenError(`${where}: the proof points outside the registry storage this cluster allows (registry-storage+ entries)`);
  }
  return reader.read(proof);
}
