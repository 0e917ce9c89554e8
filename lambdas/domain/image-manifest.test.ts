import { describe, expect, it } from 'vitest';
import { MAX_LAYERS, readManifest } from './image-manifest.ts';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('c'), size: 300 },
  layers: [
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('1'), size: 10 },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('2'), size: 20 },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('1'), size: 10 },
  ],
};
const index = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [
    { digest: d('a'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
    { digest: d('b'), size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
  ],
};

describe('readManifest', () => {
  it('an image manifest gives its config and each layer once', () => {
    expect(readManifest(undefined, manifest)).toEqual({
      kind: 'image',
      blobs: [{ digest: d('c'), size: 300, kind: 'config' }, { digest: d('1'), size: 10, kind: 'layer' }, { digest: d('2'), size: 20, kind: 'layer' }],
    });
  });

  it('an index picks the platform (default linux/amd64; the variant when asked)', () => {
    expect(readManifest(undefined, index)).toEqual({ kind: 'index', digest: d('a') });
    expect(readManifest(undefined, index, 'linux/arm64')).toEqual({ kind: 'index', digest: d('b') });
    expect(readManifest(undefined, index, 'linux/arm64/v8')).toEqual({ kind: 'index', digest: d('b') });
    expect(() => readManifest(undefined, index, 'linux/s390x')).toThrow(/no manifest for linux\/s390x/);
  });

  it('refuses schema 1, malformed documents and bad digests', () => {
    expect(() => readManifest(undefined, { schemaVersion: 1, fsLayers: [] })).toThrow(/schema 2/);
    expect(() => readManifest(undefined, 'text')).toThrow(/JSON object/);
    expect(() => readManifest(undefined, { schemaVersion: 2, config: { digest: 'md5:x', size: 1 }, layers: [] })).toThrow(/sha256/);
    expect(() => readManifest(undefined, { schemaVersion: 2, config: { digest: d('c'), size: -1 }, layers: [] })).toThrow(/size/);
  });

  it('refuses more layers than MAX_LAYERS, and keeps the first of repeated layers', () => {
    const layer = { digest: d('1'), size: 10 };
    expect(() => readManifest(undefined, { ...manifest, layers: Array.from({ length: MAX_LAYERS + 1 }, () => layer) })).toThrow(/1001 layers; at most 1000/);
    expect(readManifest(undefined, { ...manifest, layers: Array.from({ length: MAX_LAYERS }, () => layer) })).toEqual({
      kind: 'image',
      blobs: [{ digest: d('c'), size: 300, kind: 'config' }, { digest: d('1'), size: 10, kind: 'layer' }],
    });
  });
});
