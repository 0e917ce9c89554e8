import { BadRequestError, NotFoundError } from '../../core/errors.ts';

/** Media types of an image index (a manifest per platform) in OCI and Docker spelling. */
export const INDEX_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];
/** Media types of one platform's manifest. */
export const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];

/** One blob an image needs: its config or a layer. */
export interface ImageBlob {
  readonly digest: string;
  /** Bytes, as the manifest states them. */
  readonly size: number;
  readonly kind: 'config' | 'layer';
}

/** What the next step is after reading one manifest document. */
export type ManifestStep =
  | { readonly kind: 'index'; readonly digest: string }
  | { readonly kind: 'image'; readonly blobs: readonly ImageBlob[] };

/** `os/arch[/variant]`, e.g. `linux/amd64`, `linux/arm64/v8`. */
export const DEFAULT_PLATFORM = 'linux/amd64';
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** Layers an image may list (real images hold at most a few hundred; the prefix preheat's cap is as many objects). */
export const MAX_LAYERS = 1000;

export function isPlatform(text: string): boolean {
  return PLATFORM.test(text);
}

interface Descriptor {
  readonly digest?: unknown;
  readonly size?: unknown;
  readonly mediaType?: unknown;
  readonly platform?: { readonly os?: unknown; readonly architecture?: unknown; readonly variant?: unknown };
}

/**
 * Reads a manifest document: an index gives the digest of `platform`'s manifest
 * (NotFoundError when it has none); an image manifest gives its config and layers.
 * BadRequestError for anything else (schema 1, a malformed document, non-sha256 digests).
 */
export function readManifest(mediaType: string | undefined, body: unknown, platform: string = DEFAULT_PLATFORM): ManifestStep {
  if (!body || typeof body !== 'object') throw new BadRequestError('the registry answered a manifest that is not a JSON object');
  const document = body as { mediaType?: unknown; manifests?: unknown; config?: unknown; layers?: unknown; schemaVersion?: unknown };
  const type = typeof document.mediaType === 'string' ? document.mediaType : mediaType?.split(';')[0].trim();
  if (document.schemaVersion !== 2) throw new BadRequestError('only schema 2 manifests (OCI, Docker v2) can be preheated');
  if (Array.isArray(document.manifests) || (type && INDEX_TYPES.includes(type))) {
    const entries = (Array.isArray(document.manifests) ? document.manifests : []) as Descriptor[];
    const [os, architecture, variant] = platform.split('/');
    const match = entries.find((entry) => entry.platform?.os === os && entry.platform?.architecture === architecture && (variant === undefined || entry.platform?.variant === variant));
    if (!match) throw new NotFoundError(`the image index has no manifest for ${platform}`, { context: { platform } });
    return { kind: 'index', digest: digestOf(match) };
  }
  if (!document.config || !Array.isArray(document.layers)) throw new BadRequestError('the manifest has no config and layers');
  // Each blob is a preheat item (two writes): a registry answering a bomb of layers must not make one request write without bound.
  if (document.layers.length > MAX_LAYERS) throw new BadRequestError(`the manifest lists ${document.layers.length} layers; at most ${MAX_LAYERS} can be preheated`);
  const blobs: ImageBlob[] = [{ digest: digestOf(document.config as Descriptor), size: sizeOf(document.config as Descriptor), kind: 'config' }];
  for (const layer of document.layers as Descriptor[]) blobs.push({ digest: digestOf(layer), size: sizeOf(layer), kind: 'layer' });
  // One task per blob: a layer listed twice is preheated once.
  const seen = new Set<string>();
  return { kind: 'image', blobs: blobs.filter((blob) => !seen.has(blob.digest) && seen.add(blob.digest)) };
}

function digestOf(descriptor: Descriptor): string {
  if (typeof descriptor?.digest !== 'string' || !DIGEST.test(descriptor.digest)) throw new BadRequestError('a manifest entry has no sha256 digest');
  return descriptor.digest;
}

function sizeOf(descriptor: Descriptor): number {
  const size = descriptor.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new BadRequestError('a manifest entry has no valid size');
  return size;
}
