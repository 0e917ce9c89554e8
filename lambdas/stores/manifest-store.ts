import { DeleteItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULTS } from '../../core/constants.ts';
import { ConflictError } from '../../core/errors.ts';
import type { DigestSource, ManifestStore } from '../domain/manifest.ts';
import { N, S, TTL, readString, ttlFromNow, type Item } from './attributes.ts';
import { conditionalWrite, withStoreErrors } from './dynamo-errors.ts';
import { DIGEST_PREFIX, digestKey, pieceIndexOfDigestSortKey, taskKey, taskPartition } from './keys.ts';

const PUT_CONCURRENCY = 16;

/**
 * Piece digests, one small item each under the task's partition (keys.ts digestKey), each marked with who vouches for it
 * (`src`). A digest is written once; a different digest for the same piece is refused, so a manifest never changes under
 * readers except by clear(), which only a quarantine calls.
 */
export class DynamoManifestStore implements ManifestStore {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async put(taskId: string, digests: ReadonlyMap<number, string>, source: DigestSource = 'attested'): Promise<number> {
    const entries = [...digests.entries()];
    let added = 0;
    for (let i = 0; i < entries.length; i += PUT_CONCURRENCY) {
      const results = await Promise.all(entries.slice(i, i + PUT_CONCURRENCY).map(([index, digest]) => this.putOne(taskId, index, digest, source)));
      added += results.filter(Boolean).length;
    }
    if (added > 0) {
      await withStoreErrors('countDigests', () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: taskKey(taskId),
            UpdateExpression: 'ADD digestCount :n',
            ExpressionAttributeValues: { ':n': N(added) },
          }),
        ),
      );
    }
    return added;
  }

  async get(taskId: string): Promise<Map<number, string>> {
    const digests = new Map<number, string>();
    for (const item of await this.items(taskId)) digests.set(pieceIndexOfDigestSortKey(readString(item, 'sk')), readString(item, 'd'));
    return digests;
  }

  async clear(taskId: string): Promise<void> {
    const items = await this.items(taskId);
    for (let i = 0; i < items.length; i += PUT_CONCURRENCY) {
      await Promise.all(
        items.slice(i, i + PUT_CONCURRENCY).map((item) =>
          withStoreErrors('clearDigest', () => this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: { pk: item.pk, sk: item.sk } }))),
        ),
      );
    }
    await withStoreErrors('clearDigests', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: taskKey(taskId),
          UpdateExpression: 'SET digestCount = :zero',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':zero': N(0) },
        }),
      ),
    );
  }

  private async items(taskId: string): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await withStoreErrors('getDigests', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: { ':pk': S(taskPartition(taskId)), ':prefix': S(DIGEST_PREFIX) },
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  /** Returns true when the digest was new. */
  private async putOne(taskId: string, index: number, digest: string, source: DigestSource): Promise<boolean> {
    const result = await conditionalWrite('putDigest', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...digestKey(taskId, index), d: S(digest), src: S(source), [TTL]: ttlFromNow(DEFAULTS.taskTtlSeconds) },
          ConditionExpression: 'attribute_not_exists(sk) OR d = :d',
          ExpressionAttributeValues: { ':d': S(digest) },
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    if (!result) throw new ConflictError(`piece ${index} already has a different digest`, { context: { taskId, index } });
    return result.Attributes === undefined;
  }
}
