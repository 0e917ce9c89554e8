import { GetItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULTS } from '../../core/constants.ts';
import { holdsLease, leaseFor, type LeaseAsk, type LeaseHolders, type LeaseOutcome, type LeaseTable, type SourceGrantStore } from '../domain/grant.ts';
import { N, TTL, readNumber, ttlFromNow, type Item } from './attributes.ts';
import { conditionalWrite, withStoreErrors } from './dynamo-errors.ts';
import { grantKey } from './keys.ts';

/**
 * One item per (task, site) holds the back-to-source leases as a map
 * peerId → lease end, and the places kept for holders whose lease lapsed in a
 * control-plane stall (peerId → kept until). The new table (domain/grant.ts leaseFor) is written
 * conditioned on the version that was read, so at most `limit` agents per site
 * read the origin even when many ask at once.
 */
export class DynamoSourceGrantStore implements SourceGrantStore {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async acquire(taskId: string, site: string, ask: LeaseAsk): Promise<LeaseOutcome> {
    // A lost race is decided again on what won it (a holder renewing while another asker
    // writes a stall verdict must still renew); a third loss is a refusal.
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.tryAcquire(taskId, site, ask);
      if (outcome !== 'conflict') return outcome;
      if (attempt >= 3) return false;
    }
  }

  private async tryAcquire(taskId: string, site: string, ask: LeaseAsk): Promise<LeaseOutcome | 'conflict'> {
    const { table, version } = await this.read(taskId, site);
    const decision = leaseFor(table, ask);
    if (!decision.write) return decision.outcome;
    const written = await conditionalWrite('acquireSource', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: grantKey(taskId, site),
          UpdateExpression: 'SET holders = :holders, reserved = :reserved, ver = :next, #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(pk) OR ver = :seen',
          ExpressionAttributeNames: { '#ttl': TTL },
          ExpressionAttributeValues: {
            ':holders': numberMap(decision.table.holders),
            ':reserved': numberMap(decision.table.reserved),
            ':next': N(version + 1),
            ':seen': N(version),
            ':ttl': ttlFromNow(DEFAULTS.peerTtlSeconds, ask.now),
          },
        }),
      ),
    );
    // Not written: another agent's write landed since the read.
    return written === undefined ? 'conflict' : decision.outcome;
  }

  async holds(taskId: string, site: string, peerId: string, now: number): Promise<boolean> {
    const { table } = await this.read(taskId, site);
    return holdsLease(table, peerId, now);
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

  private async read(taskId: string, site: string): Promise<{ table: LeaseTable; version: number }> {
    const result = await withStoreErrors('readSource', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: grantKey(taskId, site), ConsistentRead: true })),
    );
    const item: Item = result.Item ?? {};
    return { table: { holders: readNumberMap(item.holders), reserved: readNumberMap(item.reserved) }, version: readNumber(item, 'ver') };
  }
}

function numberMap(values: LeaseHolders): AttributeValue {
  return { M: Object.fromEntries(Object.entries(values).map(([id, at]) => [id, N(at)])) };
}

function readNumberMap(value: AttributeValue | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [id, entry] of Object.entries(value?.M ?? {})) out[id] = Number(entry.N ?? 0);
  return out;
}
