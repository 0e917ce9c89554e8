import { fileURLToPath } from 'node:url';
import { runServerCommand, type ServerCommand } from '../shared/server-command.ts';
import { readSecretString } from '../shared/secret-string.ts';
import { createScheduler, ensureTable, resolveSchedulerOptions } from './wiring.ts';

/**
 * `mayfly scheduler`: the scheduler on Node, over the same app and wiring as the Lambda
 * handler, against any DynamoDB- and S3-compatible endpoints.
 */
export const SCHEDULER_COMMAND: ServerCommand = {
  name: 'scheduler',
  summary: 'Runs the scheduler (announces, heartbeats, digests) on Node: the self-hosted control plane.',
  defaultPort: 8700,
  settings: [
    { flag: 'peer-secret', env: 'MAYFLY_PEER_SECRET', value: 'SECRET', help: 'secret peer credentials derive from (prefer the variable)' },
    { flag: 'peer-secret-arn', env: 'MAYFLY_PEER_SECRET_ARN', value: 'ARN', help: 'read the peer secret from this Secrets Manager secret' },
    { flag: 'agent-roles', env: 'MAYFLY_AGENT_ROLES', value: 'JSON', help: 'IAM role name → cluster and seed role of agents that sign with it' },
    { flag: 'host-records', env: 'MAYFLY_HOST_RECORDS', value: 'cloud', help: "bind IAM callers' site and addresses to EC2's and ECS's records of them" },
    { flag: 'ec2-endpoint', env: 'MAYFLY_EC2_ENDPOINT', value: 'URL', help: 'EC2 endpoint for those records (default: the region\'s)' },
    { flag: 'ecs-endpoint', env: 'MAYFLY_ECS_ENDPOINT', value: 'URL', help: 'ECS endpoint for those records (default: the region\'s)' },
    { flag: 'registrations-per-minute', env: 'MAYFLY_REGISTRATIONS_PER_MINUTE', value: 'N', help: 'task registrations one agent may make a minute' },
    { flag: 'allowed-origins', env: 'MAYFLY_ALLOWED_ORIGINS', value: 'LIST', help: 'comma-separated bucket/prefix and http(s)://host/prefix entries (default: every bucket)' },
    { flag: 'back-to-source-limit', env: 'MAYFLY_BACK_TO_SOURCE_LIMIT', value: 'N', help: 'agents per task and site that may read S3 at once' },
    { flag: 'parent-limit', env: 'MAYFLY_PARENT_LIMIT', value: 'N', help: 'parents in one announce answer' },
    { flag: 'digest-function', env: 'MAYFLY_DIGEST_FUNCTION', value: 'NAME', help: 'compute piece digests in this Lambda (default: in this process)' },
    { flag: 'digest-s3-endpoint', env: 'MAYFLY_DIGEST_S3_ENDPOINT', value: 'URL', help: 'S3 endpoint the in-process digest service reads (default --s3-endpoint)' },
  ],
  build: async (env, log, metricsSink) => {
    const options = await resolveSchedulerOptions(env, (id) => readSecretString(id));
    const scheduler = createScheduler({ ...options, log, metricsSink: metricsSink ?? (() => {}) });
    return { app: scheduler.app, ensureTable: () => ensureTable(scheduler.dynamo, options.tableName) };
  },
};

/** `mayfly scheduler ARGS…` (agent/bin/mayfly.mjs); returns the exit code. */
export const main = (argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> => runServerCommand(SCHEDULER_COMMAND, argv, env);

// Also runnable on its own: `node --import tsx lambdas/scheduler/server.ts --help`.
if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2), process.env);
