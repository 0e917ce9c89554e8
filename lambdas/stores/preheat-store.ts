import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { PreheatState } from '../../core/wire/manager.ts';
import { isItemsJobKind, newPreheatJobId, parsePreheatItemId, type ItemsJobKind, type PreheatJob, type PreheatSource, type PreheatStore, type QueuedPreheat } from '../domain/preheat.ts';
import { allowedFrom } from '../domain/preheat-job.ts';
import { N, S, TTL, readNumber, readString, ttlFromNow, type Item } from './attributes.ts';
import { conditionalWrite, withStoreErrors } from './dynamo-errors.ts';
import { PreheatItems, readDoneBy } from './preheat-items.ts';
import { JOB_PREFIX, preheatJobKey, preheatRecordKey, preheatPartition, preheatQueueKey, preheatQueuePartition, preheatTriggerKey } from './keys.ts';

const JOB_TTL_SECONDS = 7 * 24 * 3600;
const TRIGGER_TTL_SECONDS = 3600;

/**
 * Items (keys.ts): the job (ids sort by creation time, newest listed first);
 * its queue entry while open, with per-site claims and done marks, which seeds'
 * heartbeats read as one small partition, never a Scan; and the trigger that
 * records which job the scheduler opened to have a site's seed fetch a task.
 * Which state may follow which is domain/preheat-job.ts's; this only writes it.
 */
export class DynamoPreheatStore implements PreheatStore {
  private readonly items: PreheatItems;

  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {
    this.items = new PreheatItems(client, tableName);
  }

  async create(job: PreheatJob, items?: readonly { url: string; bytes: number }[]): Promise<void> {
    const ttl = ttlFromNow(JOB_TTL_SECONDS, job.createdAt);
    if (items) {
      // A prefix or image job: the job's record holds the counters, each item is queued on its own (preheat-items.ts).
      const counters: Item = { kind: S(isItemsJobKind(job.kind) ? job.kind : 'prefix'), itemCount: N(items.length), itemsDone: N(0), itemsFailed: N(0), bytes: N(items.reduce((sum, item) => sum + item.bytes, 0)), bytesDone: N(0) };
      await this.put('createPreheat', { ...preheatJobKey(job.cluster, job.id), ...fromJob(job), ...counters, [TTL]: ttl });
      await this.items.put(job, items, ttl);
      return;
    }
    await this.put('createPreheat', { ...preheatJobKey(job.cluster, job.id), ...fromJob(job), [TTL]: ttl });
    await this.put('queuePreheat', { ...preheatQueueKey(job.cluster, job.id), url: S(job.url), sites: S(JSON.stringify(job.sites)), [TTL]: ttl });
  }

  async get(cluster: string, id: string): Promise<PreheatJob | undefined> {
    const result = await withStoreErrors('getPreheat', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: preheatRecordKey(cluster, id), ConsistentRead: true })),
    );
    if (!result.Item) return undefined;
    const job = toJob(result.Item);
    return isItemsJobKind(job.kind) ? { ...job, items: await this.items.read(cluster, id) } : job;
  }

  async list(cluster: string, limit: number): Promise<PreheatJob[]> {
    const result = await withStoreErrors('listPreheat', () =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :job)',
          ExpressionAttributeValues: { ':pk': S(preheatPartition(cluster)), ':job': S(JOB_PREFIX) },
          ScanIndexForward: false,
          Limit: limit,
        }),
      ),
    );
    return (result.Items ?? []).map(toJob);
  }

  async queued(cluster: string, limit = 50): Promise<QueuedPreheat[]> {
    const result = await withStoreErrors('pendingPreheat', () =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': S(preheatQueuePartition(cluster)) },
          Limit: limit,
        }),
      ),
    );
    return (result.Items ?? []).map((item) => ({
      id: readString(item, 'sk'),
      url: readString(item, 'url'),
      sites: JSON.parse(readString(item, 'sites', '[]')) as string[],
      doneSites: Object.keys(item).filter((name) => name.startsWith('done:')).map((name) => name.slice('done:'.length)),
    }));
  }

  async claim(cluster: string, id: string, site: string, peerId: string, leaseMs: number, now: number): Promise<boolean> {
    // Free, expired (its seed died: another seed retries the job) or already this seed's.
    const written = await conditionalWrite('claimPreheat', () =>
      this.update({
        Key: preheatQueueKey(cluster, id),
        UpdateExpression: 'SET #peer = :me, #until = :until',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#until) OR #until < :now OR #peer = :me)',
        ExpressionAttributeNames: { '#peer': `claim:${site}`, '#until': `until:${site}` },
        ExpressionAttributeValues: { ':me': S(peerId), ':until': N(now + leaseMs), ':now': N(now) },
      }),
    );
    return written !== undefined;
  }

  async recordSiteDone(cluster: string, id: string, site: string, peerId: string, taskId: string | undefined, now: number): Promise<PreheatJob | undefined> {
    const result = await conditionalWrite('completePreheat', () =>
      this.update({
        Key: preheatRecordKey(cluster, id),
        UpdateExpression: `SET #done = :peer, updatedAt = :now${taskId ? ', taskId = :task' : ''}`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#done': `done:${site}` },
        ExpressionAttributeValues: { ':peer': S(peerId), ':now': N(now), ...(taskId ? { ':task': S(taskId) } : {}) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    // Not written: an expired or unknown job.
    return result?.Attributes ? toJob(result.Attributes) : undefined;
  }

  async markQueuedSiteDone(cluster: string, id: string, site: string, peerId: string): Promise<void> {
    // Not written: the job left the queue meanwhile, and nobody will be handed it again anyway.
    await conditionalWrite('markPreheatSite', () =>
      this.update({
        Key: preheatQueueKey(cluster, id),
        UpdateExpression: 'SET #done = :peer',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#done': `done:${site}` },
        ExpressionAttributeValues: { ':peer': S(peerId) },
      }),
    );
  }

  async transition(cluster: string, id: string, to: PreheatState, now: number, reason?: string): Promise<boolean> {
    const from = allowedFrom(to);
    const error = to === 'failed' && reason !== undefined;
    const written = await conditionalWrite(`preheat${to[0].toUpperCase()}${to.slice(1)}`, () =>
      this.update({
        Key: preheatRecordKey(cluster, id),
        ReturnValues: 'ALL_OLD',
        UpdateExpression: `SET #state = :to, updatedAt = :now${error ? ', #error = :reason' : ''}`,
        ConditionExpression: `attribute_exists(pk) AND #state IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
        ExpressionAttributeNames: { '#state': 'state', ...(error ? { '#error': 'error' } : {}) },
        ExpressionAttributeValues: {
          ':to': S(to),
          ':now': N(now),
          ...Object.fromEntries(from.map((state, i) => [`:from${i}`, S(state)])),
          ...(error ? { ':reason': S(reason.slice(0, 512)) } : {}),
        },
      }),
    );
    if (written === undefined) return false;
    // An item of a prefix job: its job follows.
    if (parsePreheatItemId(id) && written.Attributes) await this.items.settled(cluster, id, written.Attributes, to, now);
    return true;
  }

  async dequeue(cluster: string, id: string): Promise<void> {
    await withStoreErrors('dequeuePreheat', () =>
      this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: preheatQueueKey(cluster, id) })),
    );
  }

  async trigger(cluster: string, taskId: string, site: string, url: string, now: number): Promise<{ jobId: string; createdAt: number; created: boolean }> {
    const key = preheatTriggerKey(cluster, taskId, site);
    const jobId = newPreheatJobId(now);
    const written = await conditionalWrite('triggerPreheat', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...key, jobId: S(jobId), createdAt: N(now), [TTL]: ttlFromNow(TRIGGER_TTL_SECONDS, now) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    if (!written) {
      const existing = await withStoreErrors('readTrigger', () =>
        this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })),
      );
      const item = existing.Item ?? {};
      return { jobId: readString(item, 'jobId'), createdAt: readNumber(item, 'createdAt', now), created: false };
    }
    await this.create({ id: jobId, cluster, url, sites: [site], source: 'seed-trigger', state: 'pending', createdAt: now, updatedAt: now, doneBy: {} });
    return { jobId, createdAt: now, created: true };
  }

  private put(operation: string, item: Item): Promise<unknown> {
    return withStoreErrors(operation, () => this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item })));
  }

  private update(input: Omit<ConstructorParameters<typeof UpdateItemCommand>[0], 'TableName'>) {
    return this.client.send(new UpdateItemCommand({ TableName: this.tableName, ...input }));
  }
}

function fromJob(job: PreheatJob): Item {
  const item: Item = {
    id: S(job.id),
    cluster: S(job.cluster),
    url: S(job.url),
    sites: S(JSON.stringify(job.sites)),
    source: S(job.source),
    state: S(job.state),
    createdAt: N(job.createdAt),
    updatedAt: N(job.updatedAt),
  };
  if (job.taskId) item.taskId = S(job.taskId);
  if (job.error) item.error = S(job.error);
  return item;
}

function toJob(item: Item): PreheatJob {
  const doneBy = readDoneBy(item);
  const taskId = readString(item, 'taskId');
  const error = readString(item, 'error');
  return {
    id: readString(item, 'id'),
    cluster: readString(item, 'cluster'),
    url: readString(item, 'url'),
    sites: JSON.parse(readString(item, 'sites', '[]')) as string[],
    source: readString(item, 'source', 'api') as PreheatSource,
    state: readString(item, 'state', 'pending') as PreheatState,
    createdAt: readNumber(item, 'createdAt'),
    updatedAt: readNumber(item, 'updatedAt'),
    doneBy,
    ...(taskId ? { taskId } : {}),
    ...(error ? { error } : {}),
    ...(isItemsJobKind(readString(item, 'kind'))
      ? { kind: readString(item, 'kind') as ItemsJobKind, itemCount: readNumber(item, 'itemCount'), itemsDone: readNumber(item, 'itemsDone'), itemsFailed: readNumber(item, 'itemsFailed'), bytes: readNumber(item, 'bytes'), bytesDone: readNumber(item, 'bytesDone') }
      : {}),
  };
}
