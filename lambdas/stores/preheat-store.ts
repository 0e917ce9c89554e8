import { randomBytes } from 'node:crypto';
import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { PreheatState } from '../../core/wire/manager.ts';
import { N, S, TTL, readNumber, readString, ttlFromNow, type Item } from './attributes.ts';
import { isConditionFailure, withStoreErrors } from './dynamo-errors.ts';

export type PreheatSource = 'api' | 's3-event' | 'seed-trigger';

export interface PreheatJob {
  readonly id: string;
  readonly cluster: string;
  readonly url: string;
  /** Sites whose seeds must pull it; empty: any one seed. */
  readonly sites: readonly string[];
  readonly source: PreheatSource;
  readonly state: PreheatState;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** site → seed that finished it there. */
  readonly doneBy: Readonly<Record<string, string>>;
  readonly taskId?: string;
  readonly error?: string;
}

export interface PendingPreheat {
  readonly id: string;
  readonly url: string;
  readonly sites: readonly string[];
}

const JOB_TTL_SECONDS = 7 * 24 * 3600;
const TRIGGER_TTL_SECONDS = 3600;

/**
 * Items:
 *   PREHEAT#<cluster>  / JOB#<id>   → the job (ids sort by creation time, newest listed first)
 *   PREHEATQ#<cluster> / <id>       → queue entry while the job is open, with per-site claims;
 *                                     seeds' heartbeats read this small partition, never a Scan
 *   TRIGGER#<cluster>#<taskId> / <site> → the job the scheduler opened to have a seed fetch a task
 */
export class DynamoPreheatStore {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  static newId(now: number): string {
    return `${now.toString(36).padStart(9, '0')}-${randomBytes(5).toString('hex')}`;
  }

  async create(job: PreheatJob): Promise<void> {
    const ttl = ttlFromNow(JOB_TTL_SECONDS, job.createdAt);
    await withStoreErrors('createPreheat', () =>
      this.client.send(new PutItemCommand({ TableName: this.tableName, Item: { ...jobKey(job.cluster, job.id), ...fromJob(job), [TTL]: ttl } })),
    );
    await withStoreErrors('queuePreheat', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: S(`PREHEATQ#${job.cluster}`),
            sk: S(job.id),
            url: S(job.url),
            sites: S(JSON.stringify(job.sites)),
            [TTL]: ttl,
          },
        }),
      ),
    );
  }

  async get(cluster: string, id: string): Promise<PreheatJob | undefined> {
    const result = await withStoreErrors('getPreheat', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: jobKey(cluster, id), ConsistentRead: true })),
    );
    return result.Item ? toJob(result.Item) : undefined;
  }

  async list(cluster: string, limit: number): Promise<PreheatJob[]> {
    const result = await withStoreErrors('listPreheat', () =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :job)',
          ExpressionAttributeValues: { ':pk': S(`PREHEAT#${cluster}`), ':job': S('JOB#') },
          ScanIndexForward: false,
          Limit: limit,
        }),
      ),
    );
    return (result.Items ?? []).map(toJob);
  }

  /** Open jobs a seed of `site` may take: targeted at its site (or any), not yet done there. */
  async pending(cluster: string, site: string, limit = 50): Promise<PendingPreheat[]> {
    const result = await withStoreErrors('pendingPreheat', () =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': S(`PREHEATQ#${cluster}`) },
          Limit: limit,
        }),
      ),
    );
    const open: PendingPreheat[] = [];
    for (const item of result.Items ?? []) {
      const sites = JSON.parse(readString(item, 'sites', '[]')) as string[];
      if (sites.length > 0 && !sites.includes(site)) continue;
      if (item[`done:${site}`]) continue;
      open.push({ id: readString(item, 'sk'), url: readString(item, 'url'), sites });
    }
    return open;
  }

  /** A lease for one seed per site; true when `peerId` holds it. */
  async claim(cluster: string, id: string, site: string, peerId: string, leaseMs: number, now: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: S(`PREHEATQ#${cluster}`), sk: S(id) },
          UpdateExpression: 'SET #peer = :me, #until = :until',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#until) OR #until < :now OR #peer = :me)',
          ExpressionAttributeNames: { '#peer': `claim:${site}`, '#until': `until:${site}` },
          ExpressionAttributeValues: { ':me': S(peerId), ':until': N(now + leaseMs), ':now': N(now) },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return false;
      return withStoreErrors('claimPreheat', () => Promise.reject(error));
    }
    await this.setState(cluster, id, 'running', now, 'pending');
    return true;
  }

  /** Records that a seed of `site` holds the object; the job is done once every target site does. */
  async complete(cluster: string, id: string, site: string, peerId: string, taskId: string | undefined, now: number): Promise<PreheatJob | undefined> {
    let updated: Item | undefined;
    try {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: jobKey(cluster, id),
          UpdateExpression: `SET #done = :peer, updatedAt = :now${taskId ? ', taskId = :task' : ''}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#done': `done:${site}` },
          ExpressionAttributeValues: { ':peer': S(peerId), ':now': N(now), ...(taskId ? { ':task': S(taskId) } : {}) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      updated = result.Attributes;
    } catch (error) {
      if (isConditionFailure(error)) return undefined; // expired or unknown job
      return withStoreErrors('completePreheat', () => Promise.reject(error));
    }
    const job = toJob(updated!);
    const finished = job.sites.length === 0 ? Object.keys(job.doneBy).length > 0 : job.sites.every((s) => job.doneBy[s]);
    if (!finished) {
      await this.client
        .send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { pk: S(`PREHEATQ#${cluster}`), sk: S(id) },
            UpdateExpression: 'SET #done = :peer',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#done': `done:${site}` },
            ExpressionAttributeValues: { ':peer': S(peerId) },
          }),
        )
        .catch((error) => {
          if (!isConditionFailure(error)) throw error;
        });
      return job;
    }
    await this.setState(cluster, id, 'done', now);
    await this.dequeue(cluster, id);
    return { ...job, state: 'done' };
  }

  async fail(cluster: string, id: string, reason: string, now: number): Promise<void> {
    await this.client
      .send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: jobKey(cluster, id),
          UpdateExpression: 'SET #state = :failed, #error = :reason, updatedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND #state <> :done',
          ExpressionAttributeNames: { '#state': 'state', '#error': 'error' },
          ExpressionAttributeValues: { ':failed': S('failed'), ':done': S('done'), ':reason': S(reason.slice(0, 512)), ':now': N(now) },
        }),
      )
      .catch((error) => {
        if (!isConditionFailure(error)) throw error;
      });
    await this.dequeue(cluster, id);
  }

  /**
   * The job that asks a seed of `site` to fetch `taskId`, opened once per
   * (cluster, task, site). Returns when it was first opened.
   */
  async trigger(cluster: string, taskId: string, site: string, url: string, now: number): Promise<{ jobId: string; createdAt: number; created: boolean }> {
    const key = { pk: S(`TRIGGER#${cluster}#${taskId}`), sk: S(site) };
    const jobId = DynamoPreheatStore.newId(now);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...key, jobId: S(jobId), createdAt: N(now), [TTL]: ttlFromNow(TRIGGER_TTL_SECONDS, now) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) return withStoreErrors('triggerPreheat', () => Promise.reject(error));
      const existing = await withStoreErrors('readTrigger', () =>
        this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })),
      );
      const item = existing.Item ?? {};
      return { jobId: readString(item, 'jobId'), createdAt: readNumber(item, 'createdAt', now), created: false };
    }
    await this.create({ id: jobId, cluster, url, sites: [site], source: 'seed-trigger', state: 'pending', createdAt: now, updatedAt: now, doneBy: {} });
    return { jobId, createdAt: now, created: true };
  }

  private async setState(cluster: string, id: string, state: PreheatState, now: number, from?: PreheatState): Promise<void> {
    await this.client
      .send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: jobKey(cluster, id),
          UpdateExpression: 'SET #state = :state, updatedAt = :now',
          ConditionExpression: from ? 'attribute_exists(pk) AND #state = :from' : 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':state': S(state), ':now': N(now), ...(from ? { ':from': S(from) } : {}) },
        }),
      )
      .catch((error) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  private async dequeue(cluster: string, id: string): Promise<void> {
    await withStoreErrors('dequeuePreheat', () =>
      this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: { pk: S(`PREHEATQ#${cluster}`), sk: S(id) } })),
    );
  }
}

function jobKey(cluster: string, id: string): Item {
  return { pk: S(`PREHEAT#${cluster}`), sk: S(`JOB#${id}`) };
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
  const doneBy: Record<string, string> = {};
  for (const [name, value] of Object.entries(item)) if (name.startsWith('done:') && value.S) doneBy[name.slice(5)] = value.S;
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
  };
}
