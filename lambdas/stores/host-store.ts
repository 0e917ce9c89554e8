import { PutItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BOOL, N, S, TTL, readBool, readNumber, readString, ttlFromNow, type Item } from './attributes.ts';
import { withStoreErrors } from './dynamo-errors.ts';

export interface HostRecord {
  readonly peerId: string;
  readonly cluster: string;
  readonly site: string;
  readonly seed: boolean;
  readonly addr: string;
  readonly hostname: string;
  readonly version: string;
  readonly uploads: number;
  readonly activeTasks: number;
  readonly cacheBytes: number;
  readonly lastSeen: number;
}

const HOST_TTL_SECONDS = 24 * 3600;

/**
 * Items:
 *   HOSTS#<cluster> / <peerId>        → the host's last heartbeat (site, role, load)
 *   SEEDS#<cluster> / <site>#<peerId> → lastSeen, written for seeds only, so the
 *                                       scheduler finds a site's seeds with one small Query
 */
export class DynamoHostStore {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async put(host: HostRecord): Promise<void> {
    const ttl = ttlFromNow(HOST_TTL_SECONDS, host.lastSeen);
    await withStoreErrors('putHost', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: S(`HOSTS#${host.cluster}`),
            sk: S(host.peerId),
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
            pk: S(`SEEDS#${host.cluster}`),
            sk: S(`${host.site}#${host.peerId}`),
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
            ExpressionAttributeValues: { ':pk': S(`HOSTS#${cluster}`) },
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

  /** Seeds of `cluster` (optionally of one site) seen at or after `since`: site → peer ids. */
  async liveSeeds(cluster: string, since: number, site?: string): Promise<Map<string, string[]>> {
    const result = await withStoreErrors('listSeeds', () =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: site === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :site)',
          ExpressionAttributeValues: { ':pk': S(`SEEDS#${cluster}`), ...(site === undefined ? {} : { ':site': S(`${site}#`) }) },
          Limit: 200,
        }),
      ),
    );
    const seeds = new Map<string, string[]>();
    for (const item of result.Items ?? []) {
      if (readNumber(item, 'lastSeen') < since) continue;
      const sk = readString(item, 'sk');
      const seedSite = sk.slice(0, sk.lastIndexOf('#'));
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
