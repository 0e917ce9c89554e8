import { BatchGetItemCommand, UpdateItemCommand, type DynamoDBClient, type KeysAndAttributes } from '@aws-sdk/client-dynamodb';
import { UnavailableError } from '../../core/errors.ts';
import type { SeederRefresh, SeederStore } from '../domain/seeder.ts';
import { N, S, TTL, readNumber, readString, ttlFromNow, type Item } from './attributes.ts';
import { conditionalWrite, withStoreErrors } from './dynamo-errors.ts';
import { peerKey, taskKey, taskPartition } from './keys.ts';

/** DynamoDB's batch size for BatchGetItem. */
const GET_BATCH = 100;
/** Conditional updates in flight at once for one heartbeat. */
const UPDATES_IN_FLIGHT = 8;
/** Rounds of retrying keys DynamoDB left unprocessed (throttling) before the refresh gives up as unavailable. */
const UNPROCESSED_ROUNDS = 5;

/**
 * Refreshes a host's finished peer items (peer-store.ts's layout) from its heartbeat:
 * one batch read of the tasks' shard counts (task items, `shards` as task-store.ts
 * writes it), then one conditional update per held task that sets the new address,
 * load and time only if the peer's finished, unfailed item exists. Conditional, not a
 * batch put: an item the agent removed (it left the swarm) is never written back.
 * Cost per held task: 0.5 RRU (its share of the batch read) + 1 WRU.
 */
export class DynamoSeederStore implements SeederStore {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async refresh(refresh: SeederRefresh, taskIds: readonly string[], ttlSeconds: number): Promise<string[]> {
    const unique = [...new Set(taskIds)];
    const shards = new Map<string, number>();
    for (const item of await this.getAll(unique.map(taskKey), 'pk, shards')) {
      shards.set(readString(item, 'pk').slice(taskPartition('').length), readNumber(item, 'shards', 1));
    }
    const unknown = unique.filter((taskId) => !shards.has(taskId));
    const held = unique.filter((taskId) => shards.has(taskId));
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(UPDATES_IN_FLIGHT, held.length) }, async () => {
        for (let i = next++; i < held.length; i = next++) {
          if (!(await this.update(refresh, held[i], shards.get(held[i])!, ttlSeconds))) unknown.push(held[i]);
        }
      }),
    );
    return unknown;
  }

  /** Whether the peer's finished record of the task was there (and is now refreshed). */
  private async update(refresh: SeederRefresh, taskId: string, shards: number, ttlSeconds: number): Promise<boolean> {
    const done = await conditionalWrite('refreshSeeder', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: peerKey(taskId, refresh.peerId, shards),
          UpdateExpression: 'SET addr = :addr, uploads = :uploads, updatedAt = :at, intervalMs = :interval, #ttl = :ttl',
          ConditionExpression: 'attribute_exists(pk) AND finished = :yes AND failed = :no',
          ExpressionAttributeNames: { '#ttl': TTL },
          ExpressionAttributeValues: {
            ':addr': S(refresh.addr),
            ':uploads': N(refresh.uploads),
            ':at': N(refresh.updatedAt),
            ':interval': N(refresh.intervalMs),
            ':ttl': ttlFromNow(ttlSeconds, refresh.updatedAt),
            ':yes': { BOOL: true },
            ':no': { BOOL: false },
          },
        }),
      ),
    );
    return done !== undefined;
  }

  private async getAll(keys: readonly Item[], projection: string): Promise<Item[]> {
    const items: Item[] = [];
    for (let i = 0; i < keys.length; i += GET_BATCH) {
      let pending: KeysAndAttributes | undefined = { Keys: keys.slice(i, i + GET_BATCH), ProjectionExpression: projection };
      for (let round = 0; pending?.Keys?.length; round++) {
        if (round >= UNPROCESSED_ROUNDS) throw new UnavailableError('the state store kept throttling a batch read', { context: { retryAfterMs: 1000 } });
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** (round - 1)));
        const request: KeysAndAttributes = pending;
        const result = await withStoreErrors('getSeederTasks', () => this.client.send(new BatchGetItemCommand({ RequestItems: { [this.tableName]: request } })));
        items.push(...(result.Responses?.[this.tableName] ?? []));
        pending = result.UnprocessedKeys?.[this.tableName];
      }
    }
    return items;
  }
}
