import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { LIMITS } from '../../core/constants.ts';
import type { Logger } from '../../core/log.ts';
import { announceRequestSchema, incidentRequestSchema, leaveRequestSchema, listingQuerySchema, publishDigestsRequestSchema } from '../../core/wire/scheduler.ts';
import { parseWith } from '../../core/wire/parse.ts';
import { siteSchema } from '../../core/ids.ts';
import { BadRequestError } from '../../core/errors.ts';
import { assertTaskId } from '../../core/task-id.ts';
import { bindSelf } from '../domain/announce-binding.ts';
import { agentOf, type IdentityResolver } from '../domain/identity.ts';
import { installErrorHandling, readJson } from '../shared/http-errors.ts';
import { heartbeatRequestSchema } from '../../core/wire/manager.ts';
import { announceMetrics, errorMetrics, type MetricEmitter } from '../shared/metrics.ts';
import { callerAuth, callerOf } from './caller-auth.ts';
import type { HeartbeatService } from './heartbeat.ts';
import type { ListingService } from './listing-service.ts';
import type { PackService } from './pack-service.ts';
import { PACKS_ROUTE, packRequestSchema } from '../../core/wire/pack.ts';
import type { SchedulerService } from './service.ts';

export interface SchedulerAppOptions {
  readonly service: SchedulerService;
  readonly log: Logger;
  /** Who calls: agent tokens, the operator's token, or the IAM caller of a signed request (identity-resolvers.ts). */
  readonly identities: IdentityResolver;
  /** Host heartbeats and preheat hand-out; the route is absent without it. */
  readonly heartbeat?: HeartbeatService;
  /** CloudWatch embedded metrics (announces, latency, grants, bytes, errors). */
  readonly metrics?: MetricEmitter;
  /** Prefix listings inside the caller's allowlist (GET /v1/listings); the route is absent without it. */
  readonly listings?: ListingService;
  /** Packs of small objects (POST /v1/packs, core/pack.ts); the route is absent without it. */
  readonly packs?: PackService;
}

/** Routes only translate HTTP to service calls. */
export function createSchedulerApp(options: SchedulerAppOptions): Hono {
  const { service } = options;
  const app = new Hono();
  installErrorHandling(app, options.log);
  app.use('*', bodyLimit({ maxSize: LIMITS.maxBodyBytes, onError: (c) => c.json({ error: 'PayloadTooLarge', message: `body exceeds ${LIMITS.maxBodyBytes} bytes` }, 413) }));
  app.use('/v1/*', callerAuth(options.identities));
  if (options.metrics) {
    app.use('/v1/*', errorMetrics(options.metrics));
    app.use('/v1/announce', announceMetrics(options.metrics));
  }

  app.get('/v1/health', (c) => c.json({ ok: true, service: 'scheduler' }));

  const heartbeat = options.heartbeat;
  if (heartbeat) {
    app.post('/v1/hosts/heartbeat', async (c) => {
      const body = parseWith(heartbeatRequestSchema, await readJson(c), 'heartbeat');
      const caller = callerOf(c);
      // A heartbeat speaks for its sender only; seeds are the operator's designation (case 4).
      const self = bindSelf(agentOf(caller), body, caller.sourceIp);
      await service.requireCluster(self.cluster);
      return c.json(await heartbeat.heartbeat({ ...body, ...self }));
    });
  }

  app.post('/v1/announce', async (c) => {
    const request = parseWith(announceRequestSchema, await readJson(c), 'announce');
    return c.json(await service.announce(request, callerOf(c)));
  });

  // GET /v1/tasks?url=s3://…[&cluster=…]: the URL's current task and swarm, without joining it.
  app.get('/v1/tasks', async (c) => {
    const url = c.req.query('url');
    if (!url) throw new BadRequestError('query parameter url is required');
    const cluster = c.req.query('cluster');
    if (cluster !== undefined) parseWith(siteSchema, cluster, 'cluster');
    return c.json(await service.swarmOf(url, cluster, callerOf(c)));
  });

  // GET /v1/listings?bucket=…&prefix=…: one page of a prefix listing (core/wire/scheduler.ts, listingQuerySchema).
  const listings = options.listings;
  if (listings) {
    app.get('/v1/listings', async (c) => {
      const query = parseWith(listingQuerySchema, c.req.query(), 'listing query');
      return c.json(await listings.list(query, callerOf(c)));
    });
  }

  // POST /v1/packs: the shared task of a pack of a tree's small objects (core/wire/pack.ts).
  const packs = options.packs;
  if (packs) {
    app.post(PACKS_ROUTE, async (c) => c.json(await packs.open(parseWith(packRequestSchema, await readJson(c), 'pack'), callerOf(c))));
  }

  app.get('/v1/tasks/:taskId', async (c) => {
    const { task, peers, blocked } = await service.task(assertTaskId(c.req.param('taskId')), callerOf(c));
    return c.json({ task, peers, blocked });
  });

  app.get('/v1/tasks/:taskId/digests', async (c) => c.json(await service.manifest(assertTaskId(c.req.param('taskId')), callerOf(c))));

  app.post('/v1/tasks/:taskId/digests', async (c) => {
    const taskId = assertTaskId(c.req.param('taskId'));
    const request = parseWith(publishDigestsRequestSchema, await readJson(c), 'digests');
    return c.json(await service.publishDigests(taskId, request, callerOf(c)));
  });

  // A back-to-source holder read other bytes than the vouched digest says (see SchedulerService.reportIncident).
  app.post('/v1/tasks/:taskId/incidents', async (c) => {
    const taskId = assertTaskId(c.req.param('taskId'));
    const request = parseWith(incidentRequestSchema, await readJson(c), 'incident');
    return c.json(await service.reportIncident(taskId, request, callerOf(c)));
  });

  app.post('/v1/tasks/:taskId/leave', async (c) => {
    const taskId = assertTaskId(c.req.param('taskId'));
    const request = parseWith(leaveRequestSchema, await readJson(c), 'leave');
    await service.leave(taskId, request.peerId, callerOf(c), request.site);
    return c.json({ ok: true });
  });

  return app;
}
