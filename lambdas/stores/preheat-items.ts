import { PutItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { PreheatState } from '../../core/wire/manager.ts';
import { parsePreheatItemId, preheatItemId, type PreheatItem, type PreheatJob } from '../domain/preheat.ts';
import { canTransition, prefixJobState } from '../domain/preheat-job.ts';
import { N, S, TTL, readNumber, readString, type Item } from './attributes.ts';
import { conditionalWrite, withStoreErrors } from './dynamo-errors.ts';
import { preheatItemSortPrefix, preheatJobKey, preheatPartition, preheatQueueKey, preheatRecordKey } from './keys.ts';

/** Item writes in flight at once. */
const PARALLEL = 25;

/**
 * The items of a prefix preheat job (keys.ts: ITEM#<job>#<index>): one record
 * per object, shaped like a job's so the heartbeat's claim, done and failed
 * paths work on them unchanged, and one queue entry each while open. The
 * job's own record keeps counters (objects done and failed, bytes done) that
 * an item's settling adds to, so a list of jobs reads no items.
 */
export class PreheatItems {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  /** Writes every item and queues it. */
  async put(job: PreheatJob, items: readonly { url: string; bytes: number }[], ttl: Item[string]): Promise<void> {
    const writes: Item[] = [];
    for (const [index, item] of items.entries()) {
      const id = preheatItemId(job.id, index);
      const record: Item = {
        ...preheatRecordKey(job.cluster, id),
        id: S(id), cluster: S(job.cluster), url: S(item.url), sites: S(JSON.stringify(job.sites)), source: S(job.source),
        state: S('pending'), createdAt: N(job.createdAt), updatedAt: N(job.updatedAt), bytes: N(item.bytes), [TTL]: ttl,
      };
      writes.push(record, { ...preheatQueueKey(job.cluster, id), url: S(item.url), sites: S(JSON.stringify(job.sites)), [TTL]: ttl });
    }
    // Single PutItems, 25 at a time: the control plane's role has no batch actions (cdk/lib/control-plane.ts).
    for (let start = 0; start < writes.length; start += PARALLEL) {
      await Promise.all(writes.slice(start, start + PARALLEL).map((Item) => withStoreErrors('putPreheatItem', () => this.client.send(new PutItemCommand({ TableName: this.tableName, Item })))));
    }
  }

  /** Every item of a job, in order. */
  async read(cluster: string, jobId: string): Promise<PreheatItem[]> {
    const items: PreheatItem[] = [];
    let start: Item | undefined;
    do {
      const page = await withStoreErrors('readPreheatItems', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :items)',
            ExpressionAttributeValues: { ':pk': S(preheatPartition(cluster)), ':items': S(preheatItemSortPrefix(jobId)) },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        ),
      );
      items.push(...(page.Items ?? []).map(toItem));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /**
   * An item moved from `old` (its record before the write) to `to`: the job
   * runs with its first item, counts each item once when it settles, and
   * takes the state its counts give (preheat-job.ts, prefixJobState).
   */
  async settled(cluster: string, itemId: string, old: Item, to: PreheatState, now: number): Promise<void> {
    const jobId = parsePreheatItemId(itemId)?.jobId;
    if (!jobId) return;
    const from = readString(old, 'state', 'pending') as PreheatState;
    if (to === 'running') {
      await this.transitionJob(cluster, jobId, 'running', now);
      return;
    }
    const bytes = readNumber(old, 'bytes');
    let add: { done: number; failed: number; bytes: number } | undefined;
    if (to === 'done' && from !== 'done') add = { done: 1, failed: from === 'failed' ? -1 : 0, bytes };
    if (to === 'failed' && from !== 'failed' && from !== 'done') add = { done: 0, failed: 1, bytes: 0 };
    if (!add) return;
    const result = await conditionalWrite('countPreheatItem', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: preheatJobKey(cluster, jobId),
          UpdateExpression: 'ADD itemsDone :done, itemsFailed :failed, bytesDone :bytes SET updatedAt = :now',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':done': N(add.done), ':failed': N(add.failed), ':bytes': N(add.bytes), ':now': N(now) },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    const job = result?.Attributes;
    if (!job) return;
    const next = prefixJobState({ itemCount: readNumber(job, 'itemCount'), itemsDone: readNumber(job, 'itemsDone'), itemsFailed: readNumber(job, 'itemsFailed') });
    if (next.state !== 'running') await this.transitionJob(cluster, jobId, next.state, now, next.error);
  }

  private async transitionJob(cluster: string, jobId: string, to: PreheatState, now: number, reason?: string): Promise<void> {
    const from = (['pending', 'running', 'done', 'failed'] as const).filter((state) => canTransition(state, to));
    // A job that went failed and is done later keeps no stale reason.
    const remove = to === 'done' ? ' REMOVE #error' : '';
    await conditionalWrite('transitionPrefixPreheat', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: preheatJobKey(cluster, jobId),
          UpdateExpression: `SET #state = :to, updatedAt = :now${reason ? ', #error = :reason' : ''}${remove}`,
          ConditionExpression: `attribute_exists(pk) AND #state IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
          ExpressionAttributeNames: { '#state': 'state', ...(reason || remove ? { '#error': 'error' } : {}) },
          ExpressionAttributeValues: { ':to': S(to), ':now': N(now), ...Object.fromEntries(from.map((state, i) => [`:from${i}`, S(state)])), ...(reason ? { ':reason': S(reason) } : {}) },
        }),
      ),
    );
  }
}

/** The `done:<site>` attributes of a job or item: which peer finished it at each site. */
export function readDoneBy(item: Item): Record<string, string> {
  const doneBy: Record<string, string> = {};
  for (const [name, value] of Object.entries(item)) if (name.startsWith('done:') && value.S) doneBy[name.slice(5)] = value.S;
  return doneBy;
}

function toItem(item: Item): PreheatItem {
  const doneBy = readDoneBy(item);
  const taskId = readString(item, 'taskId');
  const error = readString(item, 'error');
  return {
    id: readString(item, 'id'),
    url: readString(item, 'url'),
    bytes: readNumber(item, 'bytes'),
    state: readString(item, 'state', 'pending') as PreheatState,
    updatedAt: readNumber(item, 'updatedAt'),
    doneBy,
    ...(taskId ? { taskId } : {}),
    ...(error ? { error } : {}),
  };
}
