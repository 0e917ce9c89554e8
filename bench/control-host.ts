/**
 * The control plane of the swarm benchmark, run inside its own namespace:
 * dynalite (DynamoDB-compatible, on the namespace's loopback) and the
 * scheduler Hono app on Node, listening on every address of the namespace.
 *
 *   MAYFLY_TOKEN=... MAYFLY_PEER_SECRET=... MAYFLY_BENCH_AGENTS='[{"peerId":"h1","site":"site-a","addrs":["10.0.0.2"]}]' \
 *     node --import tsx bench/control-host.ts --port 8000 --s3-endpoint http://ORIGIN:9000
 *
 * It enrols each agent of MAYFLY_BENCH_AGENTS as the manager would (an agent token bound to
 * its peer id, site and address) and prints the tokens in its ready line.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../core/log.ts';
import { createScheduler } from '../lambdas/scheduler/wiring.ts';
import { serveApp } from '../lambdas/shared/node-server.ts';
import { ensureTable } from '../lambdas/stores/table-schema.ts';
import { DynamoTokenStore } from '../lambdas/stores/token-store.ts';
import { TokenService } from '../lambdas/manager/token-service.ts';
import { startDynalite, startDynamoDbLocal } from '../local/dynamo-server.ts';
import { LOCAL_S3_CREDENTIALS } from '../local/s3-server.ts';
import { CapacityMeter } from './consumed-capacity.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8000' },
    's3-endpoint': { type: 'string' },
    /** The digest service's way to the origin (in-region in AWS: not the site's link). */
    'digest-s3-endpoint': { type: 'string' },
    dynamo: { type: 'string', default: 'dynalite' },
    /** The scheduler's allowedOrigins, comma-separated (the image workload's registry entries); default: its own. */
    'allowed-origins': { type: 'string' },
  },
});
if (!values['s3-endpoint']) throw new Error('--s3-endpoint is required');

if (values.dynamo !== 'dynalite' && values.dynamo !== 'dynamodb-local') throw new Error('--dynamo is dynalite or dynamodb-local');
const dynamo = values.dynamo === 'dynalite' ? await startDynalite() : await startDynamoDbLocal();
const log = createLogger({ sink: (line) => process.stderr.write(`${line}\n`), level: 'warn', fields: { service: 'scheduler' } });
const scheduler = createScheduler({
  tableName: 'mayfly',
  dynamo: { endpoint: dynamo.endpoint, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS },
  s3: { endpoint: values['s3-endpoint'], forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS },
  digest: { s3: { endpoint: values['digest-s3-endpoint'] ?? values['s3-endpoint'], forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS } },
  token: process.env.MAYFLY_TOKEN || undefined,
  // Peer auth on, as in production: children present scheduler-issued credentials to parents.
  peerSecret: process.env.MAYFLY_PEER_SECRET || undefined,
  ...(values['allowed-origins'] ? { settings: { allowedOrigins: values['allowed-origins'].split(',') } } : {}),
  log,
});
await ensureTable(scheduler.dynamo, 'mayfly');
const tokens = new TokenService(new DynamoTokenStore(scheduler.dynamo, 'mayfly'));
const agents = JSON.parse(process.env.MAYFLY_BENCH_AGENTS ?? '[]') as Array<{ peerId: string; site: string; addrs: string[] }>;
const agentTokens: Record<string, string> = {};
for (const agent of agents) {
  agentTokens[agent.peerId] = (await tokens.create({ name: `bench ${agent.peerId}`, scope: 'agent', ...agent })).token;
}

// The scheduler's DynamoDB calls by kind, written to the log on stop for the bench's report.
const meter = new CapacityMeter(scheduler.dynamo);

const server = await serveApp(scheduler.app, { hostname: '0.0.0.0', port: Number(values.port) });
process.stdout.write(`${JSON.stringify({ ready: true, port: server.port, agentTokens })}\n`);

const stop = async () => {
  const { byCommand, conditionFailures } = meter.totals;
  process.stderr.write(`${JSON.stringify({ dynamoCalls: { ...byCommand, conditionFailures } })}\n`);
  await server.close().catch(() => {});
  await dynamo.stop().catch(() => {});
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
