import { GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULTS } from '../../core/constants.ts';
import { sha256Hex } from '../../core/task-id.ts';
import type { TaskRecord, TaskStore, UrlRecord } from '../scheduler/ports.ts';
import { N, S, TTL, readNumber, readString, ttlFromNow, type Item } from './attributes.ts';
import { isConditionFailure, withStoreErrors } from './dynamo-errors.ts';

/**
 * Items:
 *   URL#<sha256(url)> / CURRENT   → which task the URL resolved to, and when it was checked
 *   TASK#<id>         / META      → object size, ETag, piece layout, counters
 *   TASKS             / <created>#<id> → index for listing recent tasks without a Scan
 */
export class DynamoTaskStore implements TaskStore {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async getUrl(url: string): Promise<UrlRecord | undefined> {
    const result = await withStoreErrors('getUrl', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: urlKey(url) })),
    );
    if (!result.Item) return undefined;
    return { url, taskId: readString(result.Item, 'taskId'), checkedAt: readNumber(result.Item, 'checkedAt') };
  }

  async putUrl(record: UrlRecord): Promise<void> {
    await withStoreErrors('putUrl', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...urlKey(record.url),
            url: S(record.url),
            taskId: S(record.taskId),
            checkedAt: N(record.checkedAt),
            [TTL]: ttlFromNow(DEFAULTS.taskTtlSeconds),
          },
        }),
      ),
    );
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    const result = await withStoreErrors('getTask', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: taskKey(taskId) })),
    );
    return result.Item ? toTask(result.Item) : undefined;
  }

  async createTask(task: TaskRecord): Promise<TaskRecord> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...taskKey(task.id), ...fromTask(task), [TTL]: ttlFromNow(DEFAULTS.taskTtlSeconds) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return (await this.getTask(task.id)) ?? task;
      return withStoreErrors('createTask', () => Promise.reject(error));
    }
    await withStoreErrors('indexTask', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: S('TASKS'),
            sk: S(`${String(task.createdAt).padStart(15, '0')}#${task.id}`),
            taskId: S(task.id),
            [TTL]: ttlFromNow(DEFAULTS.taskTtlSeconds),
          },
        }),
      ),
    );
    return task;
  }

  async addPeer(taskId: string, peersPerShard: number, maxShards: number, count = 1): Promise<void> {
    const result = await withStoreErrors('addPeer', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: taskKey(taskId),
          UpdateExpression: 'ADD peerCount :one',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':one': N(count) },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    const peers = readNumber(result.Attributes ?? {}, 'peerCount');
    const shards = readNumber(result.Attributes ?? {}, 'shards', 1);
    if (peers > shards * peersPerShard && shards < maxShards) {
      // Widen only from the value we saw, so concurrent registrations double once.
      await this.client
        .send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: taskKey(taskId),
            UpdateExpression: 'SET shards = :next',
            ConditionExpression: 'shards = :seen',
            ExpressionAttributeValues: { ':next': N(Math.min(maxShards, shards * 2)), ':seen': N(shards) },
          }),
        )
        .catch((error) => {
          if (!isConditionFailure(error)) throw error;
        });
    }
  }

  async block(taskId: string, peerIds: readonly string[]): Promise<void> {
    if (peerIds.length === 0) return;
    await withStoreErrors('blockPeers', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: taskKey(taskId),
          UpdateExpression: 'ADD blocked :peers',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':peers': { SS: [...new Set(peerIds)] } },
        }),
      ),
    );
  }

  async listTasks(limit: number): Promise<TaskRecord[]> {
    const index = await withStoreErrors('listTasks', () =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': S('TASKS') },
          ScanIndexForward: false,
          Limit: limit,
        }),
      ),
    );
    const tasks = await Promise.all((index.Items ?? []).map((item) => this.getTask(readString(item, 'taskId'))));
    return tasks.filter((task): task is TaskRecord => task !== undefined);
  }
}

export function taskKey(taskId: string): Item {
  return { pk: S(`TASK#${taskId}`), sk: S('META') };
}

function urlKey(url: string): Item {
  return { pk: S(`URL#${sha256Hex(url)}`), sk: S('CURRENT') };
}

function fromTask(task: TaskRecord): Item {
  return {
    taskId: S(task.id),
    url: S(task.url),
    etag: S(task.etag),
    size: N(task.size),
    pieceLength: N(task.pieceLength),
    pieceCount: N(task.pieceCount),
    digestCount: N(task.digestCount),
    peerCount: N(task.peerCount),
    shards: N(task.shards),
    createdAt: N(task.createdAt),
  };
}

function toTask(item: Item): TaskRecord {
  return {
    id: readString(item, 'taskId'),
    url: readString(item, 'url'),
    etag: readString(item, 'etag'),
    size: readNumber(item, 'size'),
    pieceLength: readNumber(item, 'pieceLength'),
    pieceCount: readNumber(item, 'pieceCount'),
    digestCount: readNumber(item, 'digestCount'),
    peerCount: readNumber(item, 'peerCount'),
    shards: readNumber(item, 'shards', 1),
    createdAt: readNumber(item, 'createdAt'),
    blocked: item.blocked?.SS ?? [],
  };
}
