import { Hono } from 'hono';
import { BadRequestError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { assertTaskId } from '../../core/task-id.ts';
import { bearerAuth } from '../shared/auth.ts';
import { installErrorHandling } from '../shared/http-errors.ts';
import type { ManagerService } from './service.ts';

export interface ManagerAppOptions {
  readonly service: ManagerService;
  readonly log: Logger;
  readonly token?: string;
}

export function createManagerApp(options: ManagerAppOptions): Hono {
  const { service } = options;
  const app = new Hono();
  installErrorHandling(app, options.log);
  app.use('/v1/*', bearerAuth(options.token));

  app.get('/v1/health', (c) => c.json({ ok: true, service: 'manager' }));

  app.get('/v1/tasks', async (c) => {
    const raw = c.req.query('limit');
    const limit = raw === undefined ? 50 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new BadRequestError('limit must be an integer from 1 to 200');
    return c.json({ tasks: await service.listTasks(limit) });
  });

  app.get('/v1/tasks/:taskId', async (c) => c.json(await service.swarm(assertTaskId(c.req.param('taskId')))));

  return app;
}
