import { GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULTS } from '../../core/constants.ts';
import type { SourceGrantStore } from '../scheduler/ports.ts';
import { N, S, TTL, readNumber, ttlFromNow, type Item } from './attributes.ts';
import { isConditionFailure, withStoreErrors } from './dynamo-errors.ts';

/**
 * One item per (task, site) holds the live back-to-source leases as a map
 * peerId → lease end. A new lease is added by a write conditioned on the
 * version that was read, so at most `limit` agents per site read the origin.
 */
export class DynamoSourceGrantStore implements SourceGrantStore {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async acquire(taskId: string, site: string, peerId: string, limit: number, leaseMs: number, now: number): Promise<boolean> {
    const { holders, version } = await this.read(taskId, site);
    const live = Object.entries(holders).filter(([, until]) => until > now);
    const mine = holders[peerId] !== undefined && holders[peerId] > now;
    if (!mine && live.length >= limit) return false;
    const next: Record<string, number> = Object.fromEntries(live);
    next[peerId] = now + leaseMs;
    try {
      await this.client.send(
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
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false; // another agent won the race
      return withStoreErrors('acquireSource', () => Promise.reject(error));
    }
  }

  async holds(taskId: string, site: string, peerId: string, now: number): Promise<boolean> {
    const { holders } = await this.read(taskId, site);
    return (holders[peerId] ?? 0) > now;
  }

  async release(taskId: string, site: string, peerId: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: grantKey(taskId, site),
          UpdateExpression: 'REMOVE holders.#peer SET ver = ver + :one',
          ConditionExpression: 'attribute_exists(holders.#peer)',
          ExpressionAttributeNames: { '#peer': peerId },
          ExpressionAttributeValues: { ':one': N(1) },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) await withStoreErrors('releaseSource', () => Promise.reject(error));
    }
  }

  private async read(taskId: string, site: string): Promise<{ holders: Record<string, number>; version: number }> {
    const result = await withStoreErrors('readSource', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: grantKey(taskId, site), ConsistentRead: true })),
    );
    const item: Item = result.Item ?? {};
    const holders: Record<string, number> = {};
    for (const [id, value] of Object.entries(item.holders?.M ?? {})) holders[id] = Number(value.N ?? 0);
    return { holders, version: readNumber(item, 'ver') };
  }
}

function grantKey(taskId: string, site: string): Item {
  return { pk: S(`TASK#${taskId}`), sk: S(`SOURCE#${site}`) };
}
