import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ClusterSettingsInput } from '../../core/wire/manager.ts';
import type { ClusterRecord, ClusterSettings, ClusterSettingsSource, ClusterStore } from '../domain/cluster.ts';
import { N, S, readNumber, readString, type Item } from './attributes.ts';
import { withStoreErrors } from './dynamo-errors.ts';
import { CLUSTERS_PARTITION, clusterKey } from './keys.ts';

/**
 * Items (keys.ts clusterKey): description, settings (JSON), updatedAt.
 * One small partition: listing is a Query, reading one cluster a GetItem.
 */
export class DynamoClusterStore implements ClusterStore {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async get(name: string): Promise<ClusterRecord | undefined> {
    const result = await withStoreErrors('getCluster', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: clusterKey(name) })),
    );
    return result.Item ? toCluster(result.Item) : undefined;
  }

  async put(record: ClusterRecord): Promise<void> {
    await withStoreErrors('putCluster', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...clusterKey(record.name),
            name: S(record.name),
            description: S(record.description),
            settings: S(JSON.stringify(record.settings)),
            updatedAt: N(record.updatedAt),
          },
        }),
      ),
    );
  }

  async delete(name: string): Promise<void> {
    await withStoreErrors('deleteCluster', () => this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: clusterKey(name) })));
  }

  async list(): Promise<ClusterRecord[]> {
    const clusters: ClusterRecord[] = [];
    let startKey: Item | undefined;
    do {
      const page = await withStoreErrors('listClusters', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': S(CLUSTERS_PARTITION) },
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) clusters.push(toCluster(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return clusters;
  }
}

/**
 * The scheduler's view of cluster settings: read through to DynamoDB at most
 * once per `ttlMs` per cluster and Lambda instance, so an announce costs no
 * extra read in the steady state and an operator's change lands within ttlMs.
 */
export class CachedClusterSettings implements ClusterSettingsSource {
  private readonly cache = new Map<string, { at: number; value: Promise<ClusterSettings | undefined> }>();

  constructor(
    private readonly store: Pick<ClusterStore, 'get'>,
    private readonly ttlMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(cluster: string): Promise<ClusterSettings | undefined> {
    const hit = this.cache.get(cluster);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.store.get(cluster).then((record) => record?.settings);
    // A failed read is not cached; the next announce tries again.
    value.catch(() => this.cache.delete(cluster));
    this.cache.set(cluster, { at: this.now(), value });
    return value;
  }
}

function toCluster(item: Item): ClusterRecord {
  let settings: ClusterSettingsInput = {};
  try {
    settings = JSON.parse(readString(item, 'settings', '{}')) as ClusterSettingsInput;
  } catch {
    settings = {};
  }
  return { name: readString(item, 'name'), description: readString(item, 'description'), settings, updatedAt: readNumber(item, 'updatedAt') };
}
