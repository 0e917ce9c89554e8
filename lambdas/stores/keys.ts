import { fnv1a32, sha256Hex } from '../../core/task-id.ts';
import { parsePreheatItemId } from '../domain/preheat.ts';
import { S, type Item } from './attributes.ts';

/**
 * Every partition and sort key of the single table (pk / sk), in one place so
 * no two stores can collide or drift:
 *
 *   URL#<sha256(url)>            / CURRENT              which task a URL resolved to
 *   TASK#<id>                    / META                 the task (size, ETag, layout, counters)
 *   TASK#<id>                    / DIGEST#<index:7>     one piece digest
 *   TASK#<id>                    / SOURCE#<site>        back-to-source leases of a site
 *   TASK#<id>#P#<shard>          / PEER#<spread>#<peer> a peer, spread over shards
 *   TASKS                        / <created:15>#<id>    index of recent tasks (no Scan)
 *   CLUSTERS                     / <name>               a cluster and its settings
 *   HOSTS#<cluster>              / <peerId>             a host's last heartbeat
 *   SEEDS#<cluster>              / <site>#<peerId>      seeds only, so a site's seeds are one small Query
 *   PREHEAT#<cluster>            / JOB#<id>             a preheat job
 *   PREHEAT#<cluster>            / ITEM#<id>#<index:6>  one object of a prefix preheat job
 *   PREHEATQ#<cluster>           / <id>                 its queue entry while open
 *   TRIGGER#<cluster>#<taskId>   / <site>               the job the scheduler opened for a site's seeds
 *   TOKENS                       / <id>                 an access token (never its secret)
 *   TOKENHASH#<hash>             / META                 lookup of a token by its secret's hash
 *   REGS#<peerId>                / <window start ms>    registrations an identity made in one minute
 */

const key = (pk: string, sk: string): Item => ({ pk: S(pk), sk: S(sk) });

export const urlKey = (url: string): Item => key(`URL#${sha256Hex(url)}`, 'CURRENT');

export const taskPartition = (taskId: string): string => `TASK#${taskId}`;
export const taskKey = (taskId: string): Item => key(taskPartition(taskId), 'META');
export const TASKS_PARTITION = 'TASKS';
export const taskIndexKey = (taskId: string, createdAt: number): Item => key(TASKS_PARTITION, `${String(createdAt).padStart(15, '0')}#${taskId}`);

export const DIGEST_PREFIX = 'DIGEST#';
export const digestKey = (taskId: string, index: number): Item => key(taskPartition(taskId), `${DIGEST_PREFIX}${String(index).padStart(7, '0')}`);
export const pieceIndexOfDigestSortKey = (sk: string): number => Number(sk.slice(DIGEST_PREFIX.length));

export const grantKey = (taskId: string, site: string): Item => key(taskPartition(taskId), `SOURCE#${site}`);

export const PEER_PREFIX = 'PEER#';
/** The shard a peer's item sits in while the task has `shards` shards. */
export const shardOf = (peerId: string, shards: number): number => fnv1a32(peerId) % Math.max(1, shards);
export const peerShardPartition = (taskId: string, shard: number): string => `${taskPartition(taskId)}#P#${shard}`;
/** The sort key starts with a hash of the peer id, so a query from a random start reads a random slice. */
export function peerKey(taskId: string, peerId: string, shards: number): Item {
  const spread = fnv1a32(`spread:${peerId}`).toString(16).padStart(8, '0');
  return key(peerShardPartition(taskId, shardOf(peerId, shards)), `${PEER_PREFIX}${spread}#${peerId}`);
}

export const CLUSTERS_PARTITION = 'CLUSTERS';
export const clusterKey = (name: string): Item => key(CLUSTERS_PARTITION, name);

export const hostsPartition = (cluster: string): string => `HOSTS#${cluster}`;
export const hostKey = (cluster: string, peerId: string): Item => key(hostsPartition(cluster), peerId);
export const seedsPartition = (cluster: string): string => `SEEDS#${cluster}`;
export const seedSortPrefix = (site: string): string => `${site}#`;
export const seedKey = (cluster: string, site: string, peerId: string): Item => key(seedsPartition(cluster), `${seedSortPrefix(site)}${peerId}`);
export const siteOfSeedSortKey = (sk: string): string => sk.slice(0, sk.lastIndexOf('#'));

export const JOB_PREFIX = 'JOB#';
export const preheatPartition = (cluster: string): string => `PREHEAT#${cluster}`;
export const preheatJobKey = (cluster: string, id: string): Item => key(preheatPartition(cluster), `${JOB_PREFIX}${id}`);
export const ITEM_PREFIX = 'ITEM#';
export const preheatItemSortPrefix = (jobId: string): string => `${ITEM_PREFIX}${jobId}#`;
/** A job's record, or, for an item id (domain/preheat.ts), the item's. */
export const preheatRecordKey = (cluster: string, id: string): Item => {
  const item = parsePreheatItemId(id);
  return item ? key(preheatPartition(cluster), `${preheatItemSortPrefix(item.jobId)}${item.index.toString().padStart(6, '0')}`) : preheatJobKey(cluster, id);
};
export const preheatQueuePartition = (cluster: string): string => `PREHEATQ#${cluster}`;
export const preheatQueueKey = (cluster: string, id: string): Item => key(preheatQueuePartition(cluster), id);
export const preheatTriggerKey = (cluster: string, taskId: string, site: string): Item => key(`TRIGGER#${cluster}#${taskId}`, site);

export const TOKENS_PARTITION = 'TOKENS';
export const tokenKey = (id: string): Item => key(TOKENS_PARTITION, id);
export const tokenHashKey = (hash: string): Item => key(`TOKENHASH#${hash}`, 'META');

export const registrationCountKey = (peerId: string, windowStart: number): Item => key(`REGS#${peerId}`, String(windowStart));
