#!/usr/bin/env node
// Runs the TypeScript CLI directly; `npm run build` also produces a bundled dist/mayfly.mjs.
import { register } from 'tsx/esm/api';

register();
// The self-hosted control plane (`mayfly scheduler`, `mayfly manager`): agent/ never imports
// lambdas/, so these two commands are dispatched here, to the lambdas' Node entries.
const SERVERS = {
  scheduler: () => import('../../lambdas/scheduler/server.ts'),
  manager: () => import('../../lambdas/manager/server.ts'),
};
const server = Object.hasOwn(SERVERS, process.argv[2]) ? SERVERS[process.argv[2]] : undefined;
if (server) process.exitCode = await (await server()).main(process.argv.slice(3), process.env);
else await import('../cli/main.ts');
