import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { LIMITS } from '../../core/constants.ts';
import type { Logger } from '../../core/log.ts';
import { announceRequestSchema, leaveRequestSchema, parseWith, publishDigestsRequestSchema } from '../../core/schemas.ts';
import { assertTaskId } from '../../core/task-id.ts';
import { bearerAuth } from '../shared/auth.ts';
import { installErrorHandling, readJson } from '../shared/http-errors.ts';
import type { SchedulerService } from './service.ts';

export interface SchedulerAppOptions {
  readonly service: SchedulerService;
  readonly log: Logger;
  /** Bearer token agents must send; undefined when the platform authenticates (IAM). */
  readonly token?: string;
}

/** Routes only translate HTTP to service calls. */
export function createSchedulerApp(options: SchedulerAppOptions): Hono {
  const { service } = options;
  const app = new Hono();
  installErrorHandling(app, options.log);
  app.use('*', bodyLimit({ maxSize: LIMITS.maxBodyBytes, onError: (c) => c.json({ error: 'PayloadTooLarge', message: `body exceeds ${LIMITS.maxBodyBytes} bytes` }, 413) }));
  app.use('/v1/*', bearerAuth(options.token));

  app.get('/v1/health', (c) => c.json({ ok: true, service: 'scheduler' }));

  app.post('/v1/announce', async (c) => {
    const request = parseWith(announceRequestSchema, await readJson(c), 'announce');
    return c.json(await service.announce(request));
  });

  app.get('/v1/tasks/:taskId', async (c) => {
    const { task, peers } = await service.task(assertTaskId(c.req.param('taskId')));
    return c.json({ task, peers });
  });

  app.get('/v1/tasks/:taskId/digests', async (c) => c.json(await service.manifest(assertTaskId(c.req.param('taskId')))));

  app.post('/v1/tasks/:taskId/digests', async (c) => {
    const taskId = assertTaskId(c.req.param('taskId'));
    const request = parseWith(publishDigestsRequestSchema, await readJson(c), 'digests');
    return c.json(await service.publishDigests(taskId, request));
  });

  app.post('/v1/tasks/:taskId/leave', async (c) => {
    const taskId = assertTaskId(c.req.param('taskId'));
    const request = parseWith(leaveRequestSchema, await readJson(c), 'leave');
    await service.leave(taskId, request.peerId, request.site);
    return c.json({ ok: true });
  });

  return app;
}
