import { z } from 'zod';
import type { Logger } from '../../core/log.ts';
import { parseWith } from '../../core/wire/parse.ts';
import type { PreheatJob } from '../domain/preheat.ts';
import type { ImagePreheatService } from './image-preheat-service.ts';

/** The part of an EventBridge `ECR Image Action` event the manager reads. */
export const ecrImageEventSchema = z.object({
  'detail-type': z.literal('ECR Image Action'),
  account: z.string().regex(/^\d{12}$/),
  region: z.string().regex(/^[a-z0-9-]{1,32}$/),
  detail: z.object({
    'action-type': z.string(),
    result: z.string(),
    'repository-name': z.string().min(1).max(256),
    'image-digest': z.string().optional(),
    'image-tag': z.string().optional(),
  }),
});

/**
 * ECR push (action-type PUSH, result SUCCESS) → image preheat by digest on the clusters
 * whose preheatOrigins cover the repository (a `registry+https://<registry host>/<prefix>` entry).
 * Other actions and results are ignored; a malformed event is a BadRequestError.
 */
export async function handleEcrEvent(event: unknown, preheat: Pick<ImagePreheatService, 'imagePushed'>, log: Logger): Promise<{ jobs: PreheatJob[] }> {
  const { account, region, detail } = parseWith(ecrImageEventSchema, event, 'ECR event');
  if (detail['action-type'] !== 'PUSH' || detail.result !== 'SUCCESS' || !detail['image-digest']) {
    log.info('ECR event ignored', { action: detail['action-type'], result: detail.result });
    return { jobs: [] };
  }
  const host = `${account}.dkr.ecr.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
  const jobs = await preheat.imagePushed(host, detail['repository-name'], detail['image-digest']);
  log.info('ECR push handled', { repository: detail['repository-name'], digest: detail['image-digest'], jobs: jobs.length });
  return { jobs };
}
