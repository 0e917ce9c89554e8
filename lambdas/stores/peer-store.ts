import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, type DynamoDBClient, type QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import type { PeerRecord, PeerStore } from '../domain/peer.ts';
import { BOOL, N, S, TTL, readBool, readNumber, readString, ttlFromNow, type Item } from './attributes.ts';
import { withStoreErrors } from './dynamo-errors.ts';
import { PEER_PREFIX, peerKey, peerShardPartition } from './keys.ts';

/**
 * Peer items of a task are spread over `shards` partition keys (keys.ts
 * peerKey) so a big swarm is not one hot partition. The sort key starts with a
 * hash of the peer id, so a query from a random start key reads a random slice
 * of the shard instead of always the same first peers.
 */
export class DynamoPeerStore implements PeerStore {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async put(peer: PeerRecord, shards: number, ttlSeconds: number): Promise<void> {
    await withStoreErrors('putPeer', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...peerKey(peer.taskId, peer.peerId, shards),
            peerId: S(peer.peerId),
            addr: S(peer.addr),
            site: S(peer.site),
            seed: BOOL(peer.seed),
            finished: BOOL(peer.finished),
            source: BOOL(peer.source),
            failed: BOOL(peer.failed),
            completed: N(peer.completed),
            uploads: N(peer.uploads),
            updatedAt: N(peer.updatedAt),
            intervalMs: N(peer.intervalMs ?? 0),
            bytesFromPeers: N(peer.bytesFromPeers),
            bytesFromOrigin: N(peer.bytesFromOrigin),
            ...(peer.reason ? { reason: S(peer.reason) } : {}),
            [TTL]: ttlFromNow(ttlSeconds, peer.updatedAt),
          },
        }),
      ),
    );
  }

  async has(taskId: string, peerId: string, shards: number): Promise<boolean> {
    const result = await withStoreErrors('getPeer', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: peerKey(taskId, peerId, shards), ProjectionExpression: 'pk' })),
    );
    return result.Item !== undefined;
  }

  async sample(taskId: string, shards: number, limit: number, random: () => number, registered = Number.POSITIVE_INFINITY): Promise<PeerRecord[]> {
    const shard = Math.floor(random() * shards);
    const pk = peerShardPartition(taskId, shard);
    // A shard that holds fewer peers than asked for is read whole in one query; a random
    // start would read the same items in two.
    if (registered / shards < limit) {
      const whole = await this.query(pk, limit);
      return (whole.Items ?? []).map((item) => toPeer(taskId, item));
    }
    const start = Math.floor(random() * 0x100000000).toString(16).padStart(8, '0');
    const first = await this.query(pk, limit, { pk: S(pk), sk: S(`${PEER_PREFIX}${start}`) });
    const items = first.Items ?? [];
    if (items.length < limit) {
      // Wrap around to the beginning of the shard.
      const rest = await this.query(pk, limit - items.length);
      for (const item of rest.Items ?? []) {
        if (readString(item, 'sk') > `${PEER_PREFIX}${start}`) break;
        items.push(item);
      }
    }
    return items.map((item) => toPeer(taskId, item));
  }

  async list(taskId: string, shards: number): Promise<PeerRecord[]> {
    const peers: PeerRecord[] = [];
    for (let shard = 0; shard < shards; shard++) {
      let startKey: Item | undefined;
      do {
        const page = await this.query(peerShardPartition(taskId, shard), 500, startKey);
        for (const item of page.Items ?? []) peers.push(toPeer(taskId, item));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    }
    return peers;
  }

  async remove(taskId: string, peerId: string, shards: number): Promise<void> {
    // The item sits where the shard count put it when it was last written.
    const counts = new Set<number>();
    for (let count = shards; count >= 1; count = Math.floor(count / 2)) counts.add(count);
    await Promise.all(
      [...counts].map((count) =>
        withStoreErrors('removePeer', () =>
          this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: peerKey(taskId, peerId, count) })),
        ),
      ),
    );
  }

  private query(pk: string, limit: number, startKey?: Item): Promise<QueryCommandOutput> {
    return withStoreErrors('queryPeers', () =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': S(pk) },
          Limit: limit,
          ExclusiveStartKey: startKey,
        }),
      ),
    );
  }
}

function toPeer(taskId: string, item: Item): PeerRecord {
  return {
    taskId,
    peerId: readString(item, 'peerId'),
    addr: readString(item, 'addr'),
    site: readString(item, 'site'),
    seed: readBool(item, 'seed'),
    finished: readBool(item, 'finished'),
    source: readBool(item, 'source'),
    failed: readBool(item, 'failed'),
    completed: readNumber(item, 'completed'),
    uploads: readNumber(item, 'uploads'),
    updatedAt: readNumber(item, 'updatedAt'),
    intervalMs: readNumber(item, 'intervalMs'),
    bytesFromPeers: readNumber(item, 'bytesFromPeers'),
    bytesFromOrigin: readNumber(item, 'bytesFromOrigin'),
    ...(item.reason?.S ? { reason: item.reason.S } : {}),
  };
}
