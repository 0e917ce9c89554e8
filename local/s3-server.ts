import { createRequire } from 'node:module';
import { S3Client } from '@aws-sdk/client-s3';
import { startS3KeyGuard } from './s3-key-guard.ts';

export interface S3Server {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** s3rver's default credentials; it checks the access key id. */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

const require = createRequire(import.meta.url);

/** s3rver: an S3-compatible server on 127.0.0.1, storing under `directory`, behind a guard for keys it cannot store (s3-key-guard.ts). */
export async function startS3Server(directory: string, buckets: readonly string[]): Promise<S3Server> {
  allowContinuationTokens();
  const S3rver = require('s3rver') as new (options: object) => { run(): Promise<{ port: number }>; close(): Promise<void> };
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const guard = await startS3KeyGuard(`http://127.0.0.1:${port}`);
  return {
    endpoint: guard.endpoint,
    stop: async () => {
      await guard.stop();
      await server.close();
    },
  };
}

/** An SDK client for a local S3-compatible endpoint, set up as the notes in DESIGN.md say. */
export function localS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: LOCAL_S3_CREDENTIALS,
    // Otherwise streamed uploads are stored with aws-chunked framing.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}

/**
 * s3rver seals ListObjectsV2 continuation tokens with DES, which Node 20's OpenSSL 3
 * no longer offers, so every truncated listing answered InternalError. Clients treat
 * the token as opaque, so for this local server a DES "cipher" that passes bytes
 * through is enough. Only the `des` algorithm is touched; nothing in Mayfly uses it.
 */
function allowContinuationTokens(): void {
  const crypto = require('node:crypto') as typeof import('node:crypto') & { mayflyDesShim?: boolean };
  if (crypto.mayflyDesShim) return;
  const passThrough = () => ({ update: (data: Buffer | string, encoding?: BufferEncoding) => Buffer.from(data as string, encoding), final: () => Buffer.alloc(0) });
  const { createCipheriv, createDecipheriv } = crypto;
  crypto.createCipheriv = ((algorithm: string, ...rest: unknown[]) =>
    algorithm === 'des' ? passThrough() : (createCipheriv as (...args: unknown[]) => unknown)(algorithm, ...rest)) as typeof createCipheriv;
  crypto.createDecipheriv = ((algorithm: string, ...rest: unknown[]) =>
    algorithm === 'des' ? passThrough() : (createDecipheriv as (...args: unknown[]) => unknown)(algorithm, ...rest)) as typeof createDecipheriv;
  crypto.mayflyDesShim = true;
}
