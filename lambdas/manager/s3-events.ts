import { z } from 'zod';
import type { Logger } from '../../core/log.ts';
import { parseWith } from '../../core/wire/parse.ts';
import type { PreheatJob } from '../domain/preheat.ts';
import type { PreheatService } from './preheat-service.ts';

/** The part of an S3 event notification the manager reads. */
export const s3EventSchema = z.object({
  Records: z.array(
    z.object({
      eventName: z.string(),
      s3: z.object({
        bucket: z.object({ name: z.string() }),
        object: z.object({ key: z.string(), versionId: z.string().optional() }),
      }),
    }),
  ),
});
export type S3Event = z.infer<typeof s3EventSchema>;

export interface S3EventResult {
  readonly objects: number;
  readonly jobs: PreheatJob[];
  readonly failed: number;
}

/** S3 ObjectCreated → preheat jobs for the clusters whose preheatOrigins cover the key. */
export async function handleS3Event(event: unknown, preheat: Pick<PreheatService, 'objectCreated'>, log: Logger): Promise<S3EventResult> {
  const { Records } = parseWith(s3EventSchema, event, 'S3 event');
  const jobs: PreheatJob[] = [];
  let objects = 0;
  let failed = 0;
  for (const record of Records) {
    if (!record.eventName.startsWith('ObjectCreated')) continue;
    objects++;
    // Keys arrive URL-encoded with '+' for spaces.
    const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
    const bucket = record.s3.bucket.name;
    try {
      jobs.push(...(await preheat.objectCreated(bucket, key)));
    } catch (error) {
      // One bad record must not drop the rest of the batch.
      failed++;
      log.warn('preheat for a created object failed', { bucket, key, error });
    }
  }
  log.info('S3 event handled', { objects, jobs: jobs.length, failed });
  return { objects, jobs, failed };
}
