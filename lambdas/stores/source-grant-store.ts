import { GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULTS } from '../../core/constants.ts';
import { holdsLease, leaseFor, type LeaseHolders, type LeaseOutcome, type SourceGrantStore } from '../domain/grant.ts';
import { N, TTL, readNumber, ttlFromNow, type Item } from './attributes.ts';
import { conditionalWrite, withStoreErrors } from './dynamo-errors.ts';
import { grantKey } from './keys.ts';

/**
 * One item per (task, site) holds the live back-to-source leases as a map
 * peerId → lease end. The new holders (domain/grant.ts leaseFor) are written
 * conditioned on the version that was read, so at most `limit` agents per site
 * read the origin even when many ask at once.
 */
export class DynamoSourceGrantStore implements SourceGrantStore {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async acquire(taskId: string, site: string, peerId: string, limit: number, leaseMs: number, now: number): Promise<LeaseOutcome> {
    const { holders, version } = await this.read(taskId, site);
    const renewing = holdsLease(holders, peerId, now);
    const next = leaseFor(holders, peerId, limit, leaseMs, now);
    if (!next) return false;
    const written = await conditionalWrite('acquireSource', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: grantKey(taskId, site),
          UpdateExpression: 'SET holders = :holders, ver = :next, #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(pk) OR ver = :seen',
          ExpressionAttributeNames: { '#ttl': TTL },
          ExpressionAttributeValues: {
            ':holders': { M: Object.fromEntries(Object.entries(next).map(([id, until]) => [id, N(until)])) },
            ':next': N(version + 1),
            ':seen': N(version),
            ':ttl': ttlFromNow(DEFAULTS.peerTtlSeconds, now),
          },
        }),
      ),
    );
    // Not written: another agent's grant landed since the read, and won the race.
    return written === undefined ? false : renewing ? 'renewed' : 'granted';
  }

  async holds(taskId: string, site: string, peerId: string, now: number): Promise<boolean> {
    const { holders } = await this.read(taskId, site);
    return holdsLease(holders, peerId, now);
  }

  async release(taskId: string, site: string, peerId: string): Promise<void> {
    // Not written: the peer held no lease, which is what release wants anyway.
    await conditionalWrite('releaseSource', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: grantKey(taskId, site),
          UpdateExpression: 'REMOVE holders.#peer SET ver = ver + :one',
          ConditionExpression: 'attribute_exists(holders.#peer)',
          ExpressionAttributeNames: { '#peer': peerId },
          ExpressionAttributeValues: { ':one': N(1) },
        }),
      ),
    );
  }

  private async read(taskId: string, site: string): Promise<{ holders: LeaseHolders; version: number }> {
    const result = await withStoreErrors('readSource', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: grantKey(taskId, site), ConsistentRead: true })),
    );
    const item: Item = result.Item ?? {};
    const holders: Record<string, number> = {};
    for (const [id, value] of Object.entries(item.holders?.M ?? {})) holders[id] = Number(value.N ?? 0);
    return { holders, version: readNumber(item, 'ver') };
  }
}
