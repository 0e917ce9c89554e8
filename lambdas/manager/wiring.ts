import { createLogger, type Logger } from '../../core/log.ts';
import { createDynamoClient, type DynamoClientOptions } from '../stores/dynamo-client.ts';
import { DynamoPeerStore } from '../stores/peer-store.ts';
import { DynamoTaskStore } from '../stores/task-store.ts';
import { createManagerApp } from './app.ts';
import { ManagerService } from './service.ts';

export interface ManagerWiringOptions {
  readonly tableName: string;
  readonly dynamo?: DynamoClientOptions;
  readonly token?: string;
  readonly log?: Logger;
}

export function createManager(options: ManagerWiringOptions) {
  const log = options.log ?? createLogger({ sink: (line) => console.log(line), fields: { service: 'manager' } });
  const dynamo = createDynamoClient(options.dynamo);
  const service = new ManagerService({
    tasks: new DynamoTaskStore(dynamo, options.tableName),
    peers: new DynamoPeerStore(dynamo, options.tableName),
  });
  return { app: createManagerApp({ service, log, token: options.token }), service, dynamo };
}

export function managerOptionsFromEnv(env: NodeJS.ProcessEnv): ManagerWiringOptions {
  const tableName = env.MAYFLY_TABLE;
  if (!tableName) throw new Error('MAYFLY_TABLE is not set');
  return {
    tableName,
    dynamo: env.MAYFLY_DYNAMODB_ENDPOINT ? { endpoint: env.MAYFLY_DYNAMODB_ENDPOINT } : undefined,
    token: env.MAYFLY_TOKEN || undefined,
  };
}
