import type { Caller } from '../lambdas/domain/identity.ts';
import { createHash } from 'node:crypto';
import { createLogger } from '../core/log.ts';
import type { DigestDispatcher, DigestJob } from '../lambdas/domain/digest.ts';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createDigestService } from '../lambdas/digest/wiring.ts';
import { createScheduler } from '../lambdas/scheduler/wiring.ts';
import { artifactStream } from '../local/artifact.ts';
import { LOCAL_S3_CREDENTIALS, localS3Client } from '../local/s3-server.ts';
import { PRICES } from './cost-model.ts';
import { round } from './stats.ts';

/** Lambda memory the digest function is priced at: 1,769 MB is one full vCPU, which one streaming hash keeps busy. */
const DIGEST_MEMORY_GB = 1769 / 1024;

/** Keeps the jobs the scheduler dispatches, so the announce phases run without hashing beside them. */
export class RecordingDispatcher implements DigestDispatcher {
  readonly jobs: DigestJob[] = [];
  async dispatch(jobs: readonly DigestJob[]): Promise<void> {
    this.jobs.push(...jobs);
  }
}

export interface DigestCostOptions {
  readonly tableName: string;
  readonly dynamoEndpoint: string;
  /** The bench's S3-compatible server, holding bucket `bench`. */
  readonly s3Endpoint: string;
  /** The jobs of one task, as the scheduler dispatched them at its creation. */
  readonly jobs: readonly DigestJob[];
}

/** Size of the object whose first digest is timed after its register. */
const FIRST_DIGEST_OBJECT_BYTES = 256 * 1024 * 1024;

/**
 * What the control plane's digests cost: the digest service run here over a
 * task's jobs (S3-compatible server on the same 2 cores, so a lower bound on
 * Lambda's throughput), the in-memory SHA-256 rate (what a 1-vCPU Lambda hashes
 * at most), dollars per GiB at the measured rate, and the time from a register
 * to the first digest of a new task.
 */
export async function measureDigestCost(options: DigestCostOptions) {
  const log = createLogger({ sink: () => {}, level: 'error' });
  const dynamo = { endpoint: options.dynamoEndpoint, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS };
  const s3 = { endpoint: options.s3Endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS };
  const { service } = createDigestService({ tableName: options.tableName, dynamo, s3, log });
  const started = performance.now();
  let bytes = 0;
  for (const job of options.jobs) bytes += (await service.run(job)).bytes;
  const seconds = (performance.now() - started) / 1000;
  const endToEndMiBps = bytes / 1024 / 1024 / seconds;

  const buffer = Buffer.alloc(256 * 1024 * 1024, 7);
  const hashStarted = performance.now();
  createHash('sha256').update(buffer).digest();
  const hashMiBps = 256 / ((performance.now() - hashStarted) / 1000);

  // A scheduler as the Node server runs it (in-process digest service), timed from a new task's register.
  const client = localS3Client(options.s3Endpoint);
  await client.send(new PutObjectCommand({ Bucket: 'bench', Key: 'first-digest.bin', Body: artifactStream(FIRST_DIGEST_OBJECT_BYTES, 'first'), ContentLength: FIRST_DIGEST_OBJECT_BYTES }));
  client.destroy();
  const scheduler = createScheduler({ tableName: options.tableName, dynamo, s3, log, metricsSink: () => {} });
  const registered = performance.now();
  const caller: Caller = { identity: { kind: 'agent', peerId: 'first-digest', cluster: 'default', site: 'default', seed: false, addrs: [] }, sourceIp: '10.9.9.9' };
  const answer = await scheduler.service.announce({ url: 's3://bench/first-digest.bin', peerId: 'first-digest', addr: 'http://10.9.9.9:7402', event: 'register' }, caller);
  while ((await scheduler.service.manifest(answer.task.id, caller)).digestCount === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const firstDigestMs = performance.now() - registered;
  await (scheduler.digests as { settled?(): Promise<void> }).settled?.();

  const gib = bytes / 1024 ** 3;
  const perGib = (MiBps: number) => {
    const lambdaSeconds = 1024 / MiBps;
    const invokes = options.jobs.length / gib;
    const pieces = options.jobs.reduce((sum, job) => sum + job.count, 0) / gib;
    const compute = lambdaSeconds * DIGEST_MEMORY_GB * PRICES.lambdaPerGbSecond;
    // One ranged GET per job, one HEAD per task; two write units per piece (the digest, the count).
    const requests = invokes * (PRICES.lambdaPerRequest + PRICES.s3PerGet) + PRICES.s3PerGet + pieces * 2 * PRICES.dynamoPerWru;
    return { lambdaSeconds: round(lambdaSeconds, 2), compute: round(compute, 6), requests: round(requests, 6), total: round(compute + requests, 6) };
  };
  return {
    bytes,
    jobs: options.jobs.length,
    seconds: round(seconds, 2),
    endToEndMiBps: round(endToEndMiBps, 1),
    inMemorySha256MiBps: round(hashMiBps, 1),
    lambdaMemoryGb: round(DIGEST_MEMORY_GB, 3),
    dollarsPerGiBAtMeasuredRate: perGib(endToEndMiBps),
    dollarsPerGiBAtHashRate: perGib(hashMiBps),
    firstDigestMsAfterRegister: round(firstDigestMs, 1),
  };
}
