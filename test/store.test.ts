import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../core/errors.ts';
import { createDynamoClient } from '../lambdas/stores/dynamo-client.ts';
import { DynamoManifestStore } from '../lambdas/stores/manifest-store.ts';
import { DynamoPeerStore } from '../lambdas/stores/peer-store.ts';
import { DynamoSourceGrantStore } from '../lambdas/stores/source-grant-store.ts';
import { ensureTable } from '../lambdas/stores/table-schema.ts';
import { DynamoTaskStore } from '../lambdas/stores/task-store.ts';
import type { PeerRecord } from '../lambdas/domain/peer.ts';
import type { TaskRecord } from '../lambdas/domain/task.ts';
import { CapacityMeter } from '../bench/consumed-capacity.ts';
import { startDynalite, startDynamoDbLocal, type DynamoServer } from '../local/dynamo-server.ts';
import { seededRandom } from './fixtures/seeded-random.ts';

const hex = (n: number) => n.toString(16).padStart(64, '0');
const task = (n: number, overrides: Partial<TaskRecord> = {}): TaskRecord => ({
  id: hex(n),
  url: `s3://bucket/object-${n}`,
  etag: '"etag"',
  size: 100,
  pieceLength: 4,
  pieceCount: 25,
  digestCount: 0,
  peerCount: 0,
  shards: 1,
  createdAt: 1_700_000_000_000 + n,
  reports: [],
  ...overrides,
});
const peer = (taskId: string, peerId: string, overrides: Partial<PeerRecord> = {}): PeerRecord => ({
  taskId,
  peerId,
  addr: 'http://127.0.0.1:9000',
  site: 'a',
  seed: false,
  finished: false,
  source: false,
  failed: false,
  completed: 3,
  uploads: 0,
  updatedAt: Date.now(),
  bytesFromPeers: 5,
  bytesFromOrigin: 7,
  ...overrides,
});

describe.each(['dynalite', 'dynamodb-local'] as const)('DynamoDB stores on %s', (kind) => {
  let server: DynamoServer;
  let tasks: DynamoTaskStore;
  let peers: DynamoPeerStore;
  let grants: DynamoSourceGrantStore;
  let manifests: DynamoManifestStore;
  /** Counts the requests the stores send, by command. */
  let meter: CapacityMeter;

  beforeAll(async () => {
    server = kind === 'dynalite' ? await startDynalite() : await startDynamoDbLocal();
    const client = createDynamoClient({ endpoint: server.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    meter = new CapacityMeter(client);
    await ensureTable(client, 'mayfly-test');
    tasks = new DynamoTaskStore(client, 'mayfly-test');
    peers = new DynamoPeerStore(client, 'mayfly-test');
    grants = new DynamoSourceGrantStore(client, 'mayfly-test');
    manifests = new DynamoManifestStore(client, 'mayfly-test');
  });
  afterAll(async () => server?.stop());

  it('creates a task once and lists tasks newest first', async () => {
    const created = await tasks.createTask(task(1));
    expect(created.id).toBe(hex(1));
    // A second create (a racing scheduler) returns what is stored, not its own copy.
    const again = await tasks.createTask(task(1, { size: 999 }));
    expect(again.size).toBe(100);
    await tasks.createTask(task(2));
    const listed = await tasks.listTasks(10);
    expect(listed.map((t) => t.id)).toEqual([hex(2), hex(1)]);
    expect(await tasks.getTask(hex(99))).toBeUndefined();
  });

  it('remembers which task a URL resolved to', async () => {
    await tasks.putUrl({ url: 's3://bucket/object-1', taskId: hex(1), checkedAt: 123 });
    expect(await tasks.getUrl('s3://bucket/object-1')).toEqual({ url: 's3://bucket/object-1', taskId: hex(1), checkedAt: 123 });
    expect(await tasks.getUrl('s3://bucket/other')).toBeUndefined();
  });

  it('counts peers and widens shards as the swarm grows', async () => {
    await tasks.createTask(task(3));
    for (let i = 0; i < 5; i++) await tasks.addPeer(hex(3), 2, 8);
    const stored = await tasks.getTask(hex(3));
    expect(stored?.peerCount).toBe(5);
    expect(stored?.shards).toBe(4);
  });

  it('records reports about parents on the task, and forgets them', async () => {
    await tasks.createTask(task(4));
    const first = { reported: 'bad-1', reporter: 'r-1', at: 1_000 };
    await tasks.report(hex(4), [first]);
    await tasks.report(hex(4), [first, { reported: 'bad-1', reporter: 'r-2', at: 2_000 }]);
    expect((await tasks.getTask(hex(4)))!.reports.map((r) => `${r.reported}<${r.reporter}@${r.at}`).sort()).toEqual(['bad-1<r-1@1000', 'bad-1<r-2@2000']);
    await tasks.forgetReports(hex(4), [first]);
    expect((await tasks.getTask(hex(4)))!.reports).toEqual([{ reported: 'bad-1', reporter: 'r-2', at: 2_000 }]);
  });

  it('stores, samples, lists and removes peers across shards', async () => {
    const id = hex(5);
    for (let i = 0; i < 30; i++) await peers.put(peer(id, `peer-${i}`), 4, 3600);
    const all = await peers.list(id, 4);
    expect(all).toHaveLength(30);
    expect(all.find((p) => p.peerId === 'peer-7')).toMatchObject({ completed: 3, bytesFromPeers: 5, bytesFromOrigin: 7, site: 'a' });
    const seen = new Set<string>();
    // Seeded so the run is repeatable: random shards and random start keys reach well beyond
    // the first peers of one shard.
    const random = seededRandom(42);
    for (let i = 0; i < 20; i++) for (const p of await peers.sample(id, 4, 3, random)) seen.add(p.peerId);
    expect(seen.size).toBeGreaterThan(12);
    await peers.remove(id, 'peer-7', 4);
    expect((await peers.list(id, 4)).map((p) => p.peerId)).not.toContain('peer-7');
  });

  it('reads a shard smaller than the sample whole, wherever the random start would fall', async () => {
    const id = hex(15);
    for (let i = 0; i < 10; i++) await peers.put(peer(id, `small-${i}`), 1, 3600);
    const everyone = (await peers.list(id, 1)).map((p) => p.peerId).sort();
    const queries = () => meter.totals.byCommand.QueryCommand ?? 0;
    for (const start of [0, 0.5, 0.999]) {
      const before = queries();
      const sampled = await peers.sample(id, 1, 48, () => start, 10);
      expect(sampled.map((p) => p.peerId).sort()).toEqual(everyone);
      expect(queries() - before).toBe(1);
    }
    // Without the peer count (or with a big one) the slice starts at random and wraps around: two queries.
    const before = queries();
    expect((await peers.sample(id, 1, 48, () => 0.5)).map((p) => p.peerId).sort()).toEqual(everyone);
    expect(queries() - before).toBe(2);
    // A shard bigger than the sample gives `limit` peers at most.
    expect(await peers.sample(id, 1, 4, () => 0.5, 10)).toHaveLength(4);
  });

  it('grants back-to-source to at most `limit` agents even when they race', async () => {
    const id = hex(6);
    const now = Date.now();
    const ask = (peerId: string, at: number, lastHeardAt?: number) => ({ peerId, limit: 1, leaseMs: 10_000, now: at, lastHeardAt });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => grants.acquire(id, 'a', ask(`agent-${i}`, now))));
    expect(results.filter(Boolean)).toHaveLength(1);
    const holder = `agent-${results.indexOf('granted')}`;
    expect(await grants.holds(id, 'a', holder, now)).toBe(true);
    // The holder renews; another site has its own grant.
    expect(await grants.acquire(id, 'a', ask(holder, now + 1000))).toBe('renewed');
    expect(await grants.acquire(id, 'b', ask('agent-x', now))).toBe('granted');
    // After the lease lapses someone the scheduler kept hearing (the holder went quiet) may take over.
    expect(await grants.acquire(id, 'a', ask('agent-late', now + 20_000, now + 19_000))).toBe('granted');
    expect(await grants.holds(id, 'a', holder, now + 20_000)).toBe(false);
    await grants.release(id, 'a', 'agent-late');
    expect(await grants.holds(id, 'a', 'agent-late', now + 20_000)).toBe(false);
    expect(await grants.acquire(id, 'a', ask('agent-next', now + 20_000))).toBe('granted');
  });

  it('keeps a lease that lapsed in a control-plane stall for its holder', async () => {
    const id = hex(61);
    const now = Date.now();
    const ask = (peerId: string, at: number, lastHeardAt?: number) => ({ peerId, limit: 1, leaseMs: 10_000, now: at, lastHeardAt });
    expect(await grants.acquire(id, 'a', ask('holder', now))).toBe('granted');
    // Nobody was heard for 20 s: the first asker after it is refused, and so is everyone after it.
    expect(await grants.acquire(id, 'a', ask('first', now + 20_000, now))).toBe(false);
    expect(await grants.acquire(id, 'a', ask('second', now + 21_000, now + 20_000))).toBe(false);
    expect(await grants.holds(id, 'a', 'holder', now + 21_000)).toBe(true);
    expect(await grants.acquire(id, 'a', ask('holder', now + 22_000))).toBe('renewed');
    expect(await grants.acquire(id, 'a', ask('second', now + 23_000, now + 22_000))).toBe(false);
  });

  it('writes each digest once and refuses a different one', async () => {
    const id = hex(7);
    await tasks.createTask(task(7));
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    expect(await manifests.put(id, new Map([[0, a], [1, b]]))).toBe(2);
    expect(await manifests.put(id, new Map([[1, b], [2, a]]))).toBe(1);
    await expect(manifests.put(id, new Map([[0, b]]))).rejects.toBeInstanceOf(ConflictError);
    expect(await manifests.get(id)).toEqual(new Map([[0, a], [1, b], [2, a]]));
    expect((await tasks.getTask(id))?.digestCount).toBe(3);
  });
});
