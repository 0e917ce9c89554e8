import { BadRequestError } from './errors.ts';

/**
 * An image reference as runtimes spell it: `<registry host[:port]>/<repository>(:<tag>|@sha256:<hex>)`.
 * The registry part is required (no Docker Hub default): a preheat names the registry it reads.
 */
export interface ImageRef {
  /** `host[:port]`, lowercase. */
  readonly registry: string;
  readonly repository: string;
  /** A tag, or `sha256:<64 hex>` for a reference by digest. */
  readonly reference: string;
}

const HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Parses `ref`; BadRequestError naming what is wrong. */
export function parseImageRef(ref: string): ImageRef {
  const fail = (why: string) => new BadRequestError(`image ref ${JSON.stringify(ref.slice(0, 300))}: ${why}; expected <registry>/<repository>:<tag> or <registry>/<repository>@sha256:<hex>`);
  const slash = ref.indexOf('/');
  if (slash <= 0) throw fail('no registry host');
  const registry = ref.slice(0, slash).toLowerCase();
  if (!HOST.test(registry)) throw fail('malformed registry host');
  let rest = ref.slice(slash + 1);
  let reference: string;
  const at = rest.indexOf('@');
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(reference)) throw fail('the digest is not sha256:<64 hex>');
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon < 0) throw fail('no tag or digest');
    reference = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(reference)) throw fail('malformed tag');
  }
  if (rest.length > 255 || !REPOSITORY.test(rest)) throw fail('malformed repository');
  return { registry, repository: rest, reference };
}

/** The canonical spelling of a reference. */
export function formatImageRef(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${DIGEST.test(ref.reference) ? '@' : ':'}${ref.reference}`;
}
