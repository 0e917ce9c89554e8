import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';

export interface Artifact {
  readonly bucket: string;
  readonly key: string;
  readonly url: string;
  readonly size: number;
  readonly sha256: string;
}

/** Deterministic incompressible bytes: AES-CTR keystream over zeros, from a seed. */
export function artifactStream(size: number, seed: string): Readable {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const block = Buffer.alloc(1024 * 1024);
  let produced = 0;
  return new Readable({
    read() {
      if (produced >= size) return this.push(null);
      const length = Math.min(block.length, size - produced);
      produced += length;
      this.push(cipher.update(block.subarray(0, length)));
    },
  });
}

export async function artifactSha256(size: number, seed: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of artifactStream(size, seed)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Uploads a generated artifact with the real SDK, streaming (never whole in memory). */
export async function uploadArtifact(s3: S3Client, bucket: string, key: string, size: number, seed = key): Promise<Artifact> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: artifactStream(size, seed), ContentLength: size }));
  return { bucket, key, url: `s3://${bucket}/${key}`, size, sha256: await artifactSha256(size, seed) };
}

/** Bytes [start, end) of a generated artifact, recomputed from its seed (the key unless given). */
export async function artifactBytes(artifact: Artifact, start: number, end: number, seed = artifact.key): Promise<Buffer> {
  const parts: Buffer[] = [];
  let offset = 0;
  for await (const chunk of artifactStream(artifact.size, seed)) {
    const buffer = chunk as Buffer;
    const from = Math.max(start, offset);
    const to = Math.min(end, offset + buffer.length);
    if (from < to) parts.push(buffer.subarray(from - offset, to - offset));
    offset += buffer.length;
    if (offset >= end) break;
  }
  return Buffer.concat(parts);
}
