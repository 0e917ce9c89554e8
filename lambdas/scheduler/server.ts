import { serveApp } from '../shared/node-server.ts';
import { createScheduler, schedulerOptionsFromEnv } from './wiring.ts';

/** Node entry over the same app as the Lambda handler: `node --import tsx lambdas/scheduler/server.ts`. */
const { app } = createScheduler(schedulerOptionsFromEnv(process.env));
const server = await serveApp(app, { port: Number(process.env.PORT ?? 8700), hostname: process.env.HOST ?? '127.0.0.1' });
console.log(JSON.stringify({ msg: 'scheduler listening', url: server.url }));
