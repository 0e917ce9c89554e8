import { PutItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { HostRecord, HostStore } from '../domain/host.ts';
import { BOOL, N, S, TTL, readBool, readNumber, readString, ttlFromNow, type Item } from './attributes.ts';
import { withStoreErrors } from './dynamo-errors.ts';
import { hostKey, hostsPartition, seedKey, seedSortPrefix, seedsPartition, siteOfSeedSortKey } from './keys.ts';

const HOST_TTL_SECONDS = 24 * 3600;

/**
 * Items (keys.ts): the host's last heartbeat (site, role, load), and for seeds
 * only a second small item, so the scheduler finds a site's seeds with one small Query.
 */
export class DynamoHostStore implements HostStore {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async put(host: HostRecord): Promise<void> {
    const ttl = ttlFromNow(HOST_TTL_SECONDS, host.lastSeen);
    await withStoreErrors('putHost', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...hostKey(host.cluster, host.peerId),
            peerId: S(host.peerId),
            cluster: S(host.cluster),
            site: S(host.site),
            seed: BOOL(host.seed),
            addr: S(host.addr),
            hostname: S(host.hostname),
            version: S(host.version),
            uploads: N(host.uploads),
            activeTasks: N(host.activeTasks),
            cacheBytes: N(host.cacheBytes),
            lastSeen: N(host.lastSeen),
            [TTL]: ttl,
          },
        }),
      ),
    );
    if (!host.seed) return;
    await withStoreErrors('putSeed', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...seedKey(host.cluster, host.site, host.peerId),
            peerId: S(host.peerId),
            lastSeen: N(host.lastSeen),
            [TTL]: ttl,
          },
        }),
      ),
    );
  }

  async list(cluster: string, limit = 1000): Promise<HostRecord[]> {
    const hosts: HostRecord[] = [];
    let startKey: Item | undefined;
    do {
      const page = await withStoreErrors('listHosts', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': S(hostsPartition(cluster)) },
            ExclusiveStartKey: startKey,
            Limit: Math.min(500, limit - hosts.length),
          }),
        ),
      );
      for (const item of page.Items ?? []) hosts.push(toHost(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey && hosts.length < limit);
    return hosts;
  }

  async liveSeeds(cluster: string, since: number, site?: string): Promise<Map<string, string[]>> {
    const result = await withStoreErrors('listSeeds', () =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: site === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :site)',
          ExpressionAttributeValues: { ':pk': S(seedsPartition(cluster)), ...(site === undefined ? {} : { ':site': S(seedSortPrefix(site)) }) },
          Limit: 200,
        }),
      ),
    );
    const seeds = new Map<string, string[]>();
    for (const item of result.Items ?? []) {
      if (readNumber(item, 'lastSeen') < since) continue;
      const seedSite = siteOfSeedSortKey(readString(item, 'sk'));
      seeds.set(seedSite, [...(seeds.get(seedSite) ?? []), readString(item, 'peerId')]);
    }
    return seeds;
  }
}

function toHost(item: Item): HostRecord {
  return {
    peerId: readString(item, 'peerId'),
    cluster: readString(item, 'cluster'),
    site: readString(item, 'site'),
    seed: readBool(item, 'seed'),
    addr: readString(item, 'addr'),
    hostname: readString(item, 'hostname'),
    version: readString(item, 'version'),
    uploads: readNumber(item, 'uploads'),
    activeTasks: readNumber(item, 'activeTasks'),
    cacheBytes: readNumber(item, 'cacheBytes'),
    lastSeen: readNumber(item, 'lastSeen'),
  };
}
