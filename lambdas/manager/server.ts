import { fileURLToPath } from 'node:url';
import { runServerCommand, type ServerCommand } from '../shared/server-command.ts';
import { createManager, ensureTable, managerOptionsFromEnv } from './wiring.ts';

/** `mayfly manager`: the manager (API and console) on Node, over the same app and wiring as the Lambda handler. */
export const MANAGER_COMMAND: ServerCommand = {
  name: 'manager',
  summary: 'Runs the manager (tokens, clusters, hosts, preheat, the console) on Node: the self-hosted control plane.',
  defaultPort: 8701,
  settings: [
    { flag: 'registry-upstream', env: 'MAYFLY_REGISTRY_UPSTREAMS', value: 'L', help: "NAME=URL,… registries for image preheats, as the agents' --registry-upstream (so task URLs match theirs)" },
    { flag: 'registry-credentials', env: 'MAYFLY_REGISTRY_CREDENTIALS', value: 'L', help: 'host[:port]=user:password,… for image preheats (prefer the variable); ECR hosts without one use ecr:GetAuthorizationToken' },
  ],
  build: async (env, log, metricsSink) => {
    const options = managerOptionsFromEnv(env);
    const manager = createManager({ ...options, log, metricsSink: metricsSink ?? (() => {}) });
    return { app: manager.app, ensureTable: () => ensureTable(manager.dynamo, options.tableName) };
  },
};

/** `mayfly manager ARGS…` (agent/bin/mayfly.mjs); returns the exit code. */
export const main = (argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> => runServerCommand(MANAGER_COMMAND, argv, env);

// Also runnable on its own: `node --import tsx lambdas/manager/server.ts --help`.
if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2), process.env);
