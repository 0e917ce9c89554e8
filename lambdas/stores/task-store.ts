import { GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULTS } from '../../core/constants.ts';
import type { PackRecord, Quarantine, TaskRecord, TaskStore, UrlRecord } from '../domain/task.ts';
import type { ParentReport } from '../domain/parent-reports.ts';
import { N, S, TTL, readNumber, readString, ttlFromNow, type Item } from './attributes.ts';
import { conditionalWrite, withStoreErrors } from './dynamo-errors.ts';
import { TASKS_PARTITION, taskIndexKey, taskKey, urlKey } from './keys.ts';

/** Items (keys.ts): the URL's current task, the task itself, and the index of recent tasks. */
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
    const created = await conditionalWrite('createTask', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...taskKey(task.id), ...fromTask(task), [TTL]: ttlFromNow(DEFAULTS.taskTtlSeconds) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    // Not written: another announce created the task first; that one is the task.
    if (!created) return (await this.getTask(task.id)) ?? task;
    await withStoreErrors('indexTask', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...taskIndexKey(task.id, task.createdAt),
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
      await conditionalWrite('widenShards', () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: taskKey(taskId),
            UpdateExpression: 'SET shards = :next',
            ConditionExpression: 'shards = :seen',
            ExpressionAttributeValues: { ':next': N(Math.min(maxShards, shards * 2)), ':seen': N(shards) },
          }),
        ),
      );
    }
  }

  async report(taskId: string, reports: readonly ParentReport[]): Promise<void> {
    if (reports.length === 0) return;
    await withStoreErrors('reportParents', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: taskKey(taskId),
          UpdateExpression: 'ADD reports :reports',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':reports': { SS: [...new Set(reports.map(reportEntry))] } },
        }),
      ),
    );
  }

  async forgetReports(taskId: string, reports: readonly ParentReport[]): Promise<void> {
    if (reports.length === 0) return;
    await withStoreErrors('forgetReports', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: taskKey(taskId),
          UpdateExpression: 'DELETE reports :reports',
          ExpressionAttributeValues: { ':reports': { SS: [...new Set(reports.map(reportEntry))] } },
        }),
      ),
    );
  }

  async setQuarantine(taskId: string, quarantine: Quarantine | undefined): Promise<void> {
    await withStoreErrors('setQuarantine', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: taskKey(taskId),
          ConditionExpression: 'attribute_exists(pk)',
          ...(quarantine
            ? { UpdateExpression: 'SET quarantine = :q', ExpressionAttributeValues: { ':q': S(JSON.stringify(quarantine)) } }
            : { UpdateExpression: 'REMOVE quarantine' }),
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
          ExpressionAttributeValues: { ':pk': S(TASKS_PARTITION) },
          ScanIndexForward: false,
          Limit: limit,
        }),
      ),
    );
    const tasks = await Promise.all((index.Items ?? []).map((item) => this.getTask(readString(item, 'taskId'))));
    return tasks.filter((task): task is TaskRecord => task !== undefined);
  }
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
    ...(task.pack ? { pack: S(JSON.stringify(task.pack)) } : {}),
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
    reports: (item.reports?.SS ?? []).map(parseReportEntry).filter((report): report is ParentReport => report !== undefined),
    ...(item.quarantine?.S ? { quarantine: JSON.parse(item.quarantine.S) as Quarantine } : {}),
    ...(item.pack?.S ? { pack: JSON.parse(item.pack.S) as PackRecord } : {}),
  };
}

/** A report as one string-set entry: `<reported> <reporter> <at>` (names hold no spaces). */
function reportEntry(report: ParentReport): string {
  return `${report.reported} ${report.reporter} ${report.at}`;
}

function parseReportEntry(entry: string): ParentReport | undefined {
  const [reported, reporter, at] = entry.split(' ');
  return reported && reporter && Number.isFinite(Number(at)) ? { reported, reporter, at: Number(at) } : undefined;
}
