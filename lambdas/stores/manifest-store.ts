import { PutItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULTS } from '../../core/constants.ts';
import { ConflictError } from '../../core/errors.ts';
import type { ManifestStore } from '../domain/manifest.ts';
import { N, S, TTL, readString, ttlFromNow, type Item } from './attributes.ts';
import { conditionalWrite, withStoreErrors } from './dynamo-errors.ts';
import { DIGEST_PREFIX, digestKey, pieceIndexOfDigestSortKey, taskKey, taskPartition } from './keys.ts';

const PUT_CONCURRENCY = 16;

/**
 * Piece digests, one small item each under the task's partition (keys.ts digestKey). A digest is written once; a different digest
 * for the same piece is refused, so a manifest can never change under readers.
 */
export class DynamoManifestStore implements ManifestStore {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async put(taskId: string, digests: ReadonlyMap<number, string>): Promise<number> {
    const entries = [...digests.entries()];
    let added = 0;
    for (let i = 0; i < entries.length; i += PUT_CONCURRENCY) {
      const results = await Promise.all(entries.slice(i, i + PUT_CONCURRENCY).map(([index, digest]) => this.putOne(taskId, index, digest)));
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
      for (const item of page.Items ?? []) {
        digests.set(pieceIndexOfDigestSortKey(readString(item, 'sk')), readString(item, 'd'));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return digests;
  }

  /** Returns true when the digest was new. */
  private async putOne(taskId: string, index: number, digest: string): Promise<boolean> {
    const result = await conditionalWrite('putDigest', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...digestKey(taskId, index), d: S(digest), [TTL]: ttlFromNow(DEFAULTS.taskTtlSeconds) },
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
