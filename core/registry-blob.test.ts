import { describe, expect, it } from 'vitest';
import { parseOriginUrl } from './origin-url.ts';
import { admittedRegistryBlob, registryBlobOf, registryBlobUrl, registryEntryAdmits, registryStorageAdmits } from './registry-blob.ts';
import { originAllowed } from './allowlist.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const BLOB = `https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/team/app/blobs/${DIGEST}`;

describe('registry blobs', () => {
  it('reads registry, repository and digest from a blob URL, and spells it back the same', () => {
    const blob = registryBlobOf(BLOB);
    expect(blob).toEqual({ registry: 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com', repository: 'team/app', digest: DIGEST });
    expect(registryBlobUrl(blob!)).toBe(BLOB);
  });

  it('is no blob URL with a query, credentials, another digest form or a bad repository name', () => {
    for (const url of [`${BLOB}?x=1`, BLOB.replace('https://', 'https://u:p@'), BLOB.replace(DIGEST, 'sha512:abc'), BLOB.replace('team/app', 'Team/App'), BLOB.replace('team/app', 'team/../app'), 'ftp://x/v2/a/blobs/' + DIGEST]) {
      expect(registryBlobOf(url), url).toBeUndefined();
    }
  });

  it('admits a blob under a registry+ entry of the same origin and repository prefix only', () => {
    const blob = registryBlobOf(BLOB)!;
    expect(registryEntryAdmits('registry+https://123456789012.dkr.ecr.us-east-1.amazonaws.com/team/', blob)).toBe(true);
    expect(registryEntryAdmits('registry+https://123456789012.dkr.ecr.us-east-1.amazonaws.com/', blob)).toBe(true);
    expect(registryEntryAdmits('registry+https://123456789012.dkr.ecr.us-east-1.amazonaws.com/other/', blob)).toBe(false);
    expect(registryEntryAdmits('registry+http://123456789012.dkr.ecr.us-east-1.amazonaws.com/', blob)).toBe(false);
    expect(registryEntryAdmits('https://123456789012.dkr.ecr.us-east-1.amazonaws.com/', blob)).toBe(false);
  });

  it('admits proofs (presigned URLs, query and all) on registry-storage+ hosts only', () => {
    const entry = 'registry-storage+https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/';
    expect(registryStorageAdmits(entry, 'https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/abc/def?X-Amz-Signature=1')).toBe(true);
    expect(registryStorageAdmits(entry, 'https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com.evil.example/abc')).toBe(false);
    expect(registryStorageAdmits(entry, 'http://169.254.169.254/latest/meta-data/')).toBe(false);
    expect(registryStorageAdmits('registry-storage+http://127.0.0.1:9000/registry/', 'http://127.0.0.1:9000/other/x')).toBe(false);
  });

  it('the allowlist admits a registry blob through its registry+ entry, and nothing else through it', () => {
    const entries = ['registry+https://123456789012.dkr.ecr.us-east-1.amazonaws.com/team/'];
    expect(originAllowed(parseOriginUrl(BLOB), entries)).toBe(true);
    expect(admittedRegistryBlob(parseOriginUrl(BLOB), entries)?.digest).toBe(DIGEST);
    expect(originAllowed(parseOriginUrl('https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/team/app/manifests/v1'), entries)).toBe(false);
    expect(originAllowed(parseOriginUrl('s3://bucket/key'), entries)).toBe(false);
  });
});
