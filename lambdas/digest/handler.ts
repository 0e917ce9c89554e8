import { z } from 'zod';
import { hexIdSchema } from '../../core/ids.ts';
import { PACK_MAX_MEMBERS } from '../../core/pack.ts';
import { packMemberSchema } from '../../core/wire/pack.ts';
import { BadRequestError } from '../../core/errors.ts';
import type { DigestJob } from '../domain/digest.ts';
import { MetricEmitter } from '../shared/metrics.ts';
import type { DigestRun } from './digest-service.ts';
import { storeEnvironment } from '../stores/s3-client.ts';
import { createDigestService } from './wiring.ts';

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** The event the scheduler's LambdaDigestDispatcher sends: one DigestJob. */
const digestJobSchema = z
  .strictObject({
    taskId: hexIdSchema, bucket: z.string().min(1).max(63), key: z.string().max(1024), versionId: z.string().max(1024).optional(),
    etag: z.string().min(1).max(256), size: count, pieceLength: count.min(1), pieceCount: count, first: count, count: count.min(1), checkObject: z.boolean(),
    // A pack's job (core/pack.ts) names its members instead of one key.
    members: z.array(packMemberSchema).max(PACK_MAX_MEMBERS).optional(),
  })
  .refine((job) => job.members !== undefined || job.key.length > 0, 'a digest job names a key or a pack\'s members');

let digest: ReturnType<typeof createDigestService> | undefined;

/** Lambda entry (invoked asynchronously, one job per event): hashes the job's pieces and stores their digests. */
export async function handler(event: unknown): Promise<DigestRun> {
  const parsed = digestJobSchema.safeParse(event);
  if (!parsed.success) throw new BadRequestError(`not a digest job: ${parsed.error.message}`);
  digest ??= createDigestService({ ...storeEnvironment(process.env), metrics: new MetricEmitter((line) => console.log(line), 'digest') });
  return digest.service.run(parsed.data as DigestJob);
}
