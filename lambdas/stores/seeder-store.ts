import { BatchGetItemCommand, BatchWriteItemCommand, type DynamoDBClient, type KeysAndAttributes, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { UnavailableError } from '../../core/errors.ts';
import type { SeederRefresh, SeederStore } from '../domain/seeder.ts';
import { N, S, TTL, readBool, readNumber, readString, ttlFromNow, type Item } from './attributes.ts';
import { withStoreErrors } from './dynamo-errors.ts';
import { peerKey, taskKey, taskPartition } from './keys.ts';

/** DynamoDB's batch sizes: 100 keys per BatchGetItem, 25 writes per BatchWriteItem. */
const GET_BATCH = 100;
const WRITE_BATCH = 25;
/** Rounds of retrying what DynamoDB left unprocessed (throttling) before the refresh gives up as unavailable. */
const UNPROCESSED_ROUNDS = 5;

/**
 * Refreshes a host's finished peer items (peer-store.ts's layout) from its heartbeat:
 * read the tasks' shard counts (task items, `shards` as task-store.ts writes it),
 * read the peer items, and write back the finished ones with the new address,
 * load and time. Batched: about N/100 reads and N/25 writes for N holdings, in one request.
 */
export class DynamoSeederStore implements SeederStore {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async refresh(refresh: SeederRefresh, taskIds: readonly string[], ttlSeconds: number): Promise<string[]> {
    const unique = [...new Set(taskIds)];
    const tasks = await this.getAll(unique.map(taskKey), 'pk, shards');
    const shards = new Map<string, number>();
    for (const item of tasks) shards.set(readString(item, 'pk').slice(taskPartition('').length), readNumber(item, 'shards', 1));
    const held = unique.filter((taskId) => shards.has(taskId));
    const peers = await this.getAll(held.map((taskId) => peerKey(taskId, refresh.peerId, shards.get(taskId)!)));
    const fresh = new Map<string, Item>();
    for (const item of peers) {
      if (readString(item, 'peerId') !== refresh.peerId || !readBool(item, 'finished') || readBool(item, 'failed')) continue;
      fresh.set(`${readString(item, 'pk')}\n${readString(item, 'sk')}`, {
        ...item,
        addr: S(refresh.addr),
        uploads: N(refresh.uploads),
        updatedAt: N(refresh.updatedAt),
        intervalMs: N(refresh.intervalMs),
        [TTL]: ttlFromNow(ttlSeconds, refresh.updatedAt),
      });
    }
    await this.putAll([...fresh.values()]);
    const refreshed = new Set([...fresh.values()].map((item) => readString(item, 'pk').split('#')[1]));
    return unique.filter((taskId) => !refreshed.has(taskId));
  }

  private async getAll(keys: readonly Item[], projection?: string): Promise<Item[]> {
    const items: Item[] = [];
    for (let i = 0; i < keys.length; i += GET_BATCH) {
      let pending: KeysAndAttributes | undefined = { Keys: keys.slice(i, i + GET_BATCH), ...(projection ? { ProjectionExpression: projection } : {}) };
      for (let round = 0; pending?.Keys?.length; round++) {
        if (round >= UNPROCESSED_ROUNDS) throw new UnavailableError('the state store kept throttling a batch read', { context: { retryAfterMs: 1000 } });
        if (round > 0) await backOff(round);
        const request: KeysAndAttributes = pending;
        const result = await withStoreErrors('getSeeders', () => this.client.send(new BatchGetItemCommand({ RequestItems: { [this.tableName]: request } })));
        items.push(...(result.Responses?.[this.tableName] ?? []));
        pending = result.UnprocessedKeys?.[this.tableName];
      }
    }
    return items;
  }

  private async putAll(items: readonly Item[]): Promise<void> {
    for (let i = 0; i < items.length; i += WRITE_BATCH) {
      let pending: WriteRequest[] | undefined = items.slice(i, i + WRITE_BATCH).map((Item) => ({ PutRequest: { Item } }));
      for (let round = 0; pending?.length; round++) {
        if (round >= UNPROCESSED_ROUNDS) throw new UnavailableError('the state store kept throttling a batch write', { context: { retryAfterMs: 1000 } });
        if (round > 0) await backOff(round);
        const request: WriteRequest[] = pending;
        const result = await withStoreErrors('refreshSeeders', () => this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: request } })));
        pending = result.UnprocessedItems?.[this.tableName];
      }
    }
  }
}

/** 50, 100, 200, … ms between rounds of unprocessed keys, as DynamoDB asks. */
function backOff(round: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 50 * 2 ** (round - 1)));
}
