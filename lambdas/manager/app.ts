import { Hono, type Context } from 'hono';
import { isJobId } from '../../core/ids.ts';
import { bodyLimit } from 'hono/body-limit';
import { DEFAULTS, LIMITS } from '../../core/constants.ts';
import { BadRequestError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { createPreheatRequestSchema, createTokenRequestSchema, putClusterRequestSchema } from '../../core/wire/manager.ts';
import { clusterNameSchema } from '../../core/ids.ts';
import { parseWith } from '../../core/wire/parse.ts';
import { assertTaskId } from '../../core/task-id.ts';
import { installErrorHandling, readJson } from '../shared/http-errors.ts';
import { errorMetrics, type MetricEmitter } from '../shared/metrics.ts';
import type { ClusterService } from './cluster-service.ts';
import { installConsole } from './console/routes.ts';
import type { HostService } from './host-service.ts';
import type { PreheatService } from './preheat-service.ts';
import type { ImagePreheatService } from './image-preheat-service.ts';
import { imagePreheatRequestSchema } from '../../core/wire/image-preheat.ts';
import type { ManagerService } from './service.ts';
import { managerAuth } from './token-auth.ts';
import type { TokenService } from './token-service.ts';

export interface ManagerAppOptions {
  readonly service: ManagerService;
  readonly clusters: ClusterService;
  readonly hosts: HostService;
  readonly preheat: PreheatService;
  /** `kind: "image"` preheats (absent: refused as an unknown kind). */
  readonly imagePreheat?: ImagePreheatService;
  readonly tokens: TokenService;
  readonly log: Logger;
  readonly token?: string;
  readonly metrics?: MetricEmitter;
}

/** The operator's API (/v1, authenticated) and console (/console, a static page that calls it). */
export function createManagerApp(options: ManagerAppOptions): Hono {
  const { service, clusters, hosts, preheat, tokens } = options;
  const app = new Hono();
  installErrorHandling(app, options.log);
  app.use('*', bodyLimit({ maxSize: LIMITS.maxBodyBytes, onError: (c) => c.json({ error: 'PayloadTooLarge', message: `body exceeds ${LIMITS.maxBodyBytes} bytes` }, 413) }));
  if (options.metrics) app.use('/v1/*', errorMetrics(options.metrics));
  app.use('/v1/*', managerAuth(options.token, tokens));
  installConsole(app);

  app.get('/v1/health', (c) => c.json({ ok: true, service: 'manager' }));

  app.get('/v1/clusters', async (c) => c.json({ clusters: await clusters.list() }));
  app.get('/v1/clusters/:name', async (c) => c.json(await clusters.get(clusterParam(c))));
  app.put('/v1/clusters/:name', async (c) => {
    const name = clusterParam(c);
    return c.json(await clusters.put(name, parseWith(putClusterRequestSchema, await readJson(c), 'cluster')));
  });
  app.delete('/v1/clusters/:name', async (c) => {
    await clusters.delete(clusterParam(c));
    return c.json({ ok: true });
  });

  app.get('/v1/hosts', async (c) => c.json({ hosts: await hosts.list(clusterQuery(c)) }));

  app.get('/v1/tasks', async (c) => c.json(await service.listTasks(limitQuery(c))));
  app.get('/v1/tasks/:taskId', async (c) => c.json(await service.swarm(assertTaskId(c.req.param('taskId')))));

  app.post('/v1/preheats', async (c) => {
    const body = await readJson(c);
    if (options.imagePreheat && (body as { kind?: unknown } | null)?.kind === 'image') {
      return c.json(await options.imagePreheat.create(parseWith(imagePreheatRequestSchema, body, 'image preheat')), 201);
    }
    const jobs = await preheat.create(parseWith(createPreheatRequestSchema, body, 'preheat'));
    return c.json({ jobs }, 201);
  });
  app.get('/v1/preheats', async (c) => c.json({ jobs: await preheat.list(clusterQuery(c), limitQuery(c)) }));
  app.get('/v1/preheats/:id', async (c) => {
    const id = c.req.param('id');
    if (!isJobId(id)) throw new BadRequestError('invalid preheat job id');
    return c.json(await preheat.get(clusterQuery(c), id));
  });

  app.post('/v1/tokens', async (c) => c.json(await tokens.create(parseWith(createTokenRequestSchema, await readJson(c), 'token')), 201));
  app.get('/v1/tokens', async (c) => c.json({ tokens: await tokens.list() }));
  app.delete('/v1/tokens/:id', async (c) => {
    const id = c.req.param('id');
    if (!/^[0-9a-f]{12}$/.test(id)) throw new BadRequestError('invalid token id');
    await tokens.revoke(id);
    return c.json({ ok: true });
  });

  return app;
}

function clusterParam(c: Context): string {
  return parseWith(clusterNameSchema, c.req.param('name'), 'cluster name');
}

function clusterQuery(c: Context): string {
  return parseWith(clusterNameSchema, c.req.query('cluster') ?? DEFAULTS.site, 'cluster');
}

function limitQuery(c: Context): number {
  const raw = c.req.query('limit');
  const limit = raw === undefined ? 50 : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new BadRequestError('limit must be an integer from 1 to 200');
  return limit;
}
