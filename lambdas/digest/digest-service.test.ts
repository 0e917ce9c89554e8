import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../core/errors.ts';
import { createLogger } from '../../core/log.ts';
import { planDigestJobs, type DigestJob, type ObjectRangeReader } from '../domain/digest.ts';
import type { ManifestStore } from '../domain/manifest.ts';
import type { Quarantine, TaskRecord, TaskStore } from '../domain/task.ts';
import { DigestService } from './digest-service.ts';
import { ManifestIncidents } from './incidents.ts';

const PIECE = 1000;
const object = Buffer.from(Array.from({ length: 4500 }, (_, i) => (i * 31) % 251));
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function fixture(checksum?: string) {
  let task: TaskRecord = {
    id: 'a'.repeat(64), url: 's3://bucket/key', etag: '"e"', size: object.length, pieceLength: PIECE, pieceCount: 5,
    digestCount: 0, peerCount: 0, shards: 1, createdAt: 0, reports: [],
  };
  const digests = new Map<number, string>();
  const reads: Array<[number, number]> = [];
  const manifests: ManifestStore = {
    async put(_id, map) {
      let added = 0;
      for (const [index, digest] of map) {
        if (digests.has(index) && digests.get(index) !== digest) throw new ConflictError('conflict');
        if (!digests.has(index)) added++;
        digests.set(index, digest);
      }
      task = { ...task, digestCount: task.digestCount + added };
      return added;
    },
    async get() { return new Map(digests); },
    async clear() { digests.clear(); task = { ...task, digestCount: 0 }; },
  };
  const tasks = {
    async getTask() { return task; },
    async setQuarantine(_id: string, quarantine: Quarantine | undefined) { task = { ...task, quarantine }; },
  } as unknown as TaskStore;
  const reader: ObjectRangeReader = {
    async checksum() { return { sha256: checksum }; },
    async *read(_job, start, end) {
      reads.push([start, end]);
      // Chunks that straddle piece boundaries, as a network stream would deliver them.
      for (let at = start; at < end; at += 700) yield object.subarray(at, Math.min(end, at + 700));
    },
  };
  const log = createLogger({ sink: () => {}, level: 'error' });
  const incidents = new ManifestIncidents({ tasks, manifests, log });
  const service = new DigestService({ reader, manifests, tasks, incidents, log });
  const jobs = planDigestJobs({ taskId: task.id, bucket: 'bucket', key: 'key', etag: task.etag, size: task.size, pieceLength: PIECE, pieceCount: 5 }, 2 * PIECE);
  return { service, jobs, digests, reads, task: () => task, quarantine: (q: Quarantine) => (task = { ...task, quarantine: q }) };
}

const expected = (index: number) => sha(object.subarray(index * PIECE, (index + 1) * PIECE));

describe('DigestService', () => {
  it('hashes each job\'s pieces from one ranged read and stores them', async () => {
    const { service, jobs, digests, reads } = fixture();
    for (const job of jobs) await service.run(job);
    expect([...digests.entries()].sort(([a], [b]) => a - b)).toEqual([0, 1, 2, 3, 4].map((i) => [i, expected(i)]));
    expect(reads).toEqual([[0, 2000], [2000, 4000], [4000, 4500]]);
  });

  it('reads the whole object on the checking job when S3 holds a full-object SHA-256, and a match changes nothing', async () => {
    const { service, jobs, reads, task } = fixture(createHash('sha256').update(object).digest('base64'));
    expect((await service.run(jobs[0] as DigestJob)).checksum).toBe('match');
    expect(reads).toEqual([[0, 4500]]);
    expect(task().quarantine).toBeUndefined();
  });

  it('quarantines the task for good and clears its manifest when S3\'s checksum disagrees', async () => {
    const { service, jobs, digests, task } = fixture(Buffer.alloc(32).toString('base64'));
    expect((await service.run(jobs[0] as DigestJob)).checksum).toBe('mismatch');
    expect(task().quarantine?.reason).toBe('checksum');
    expect(task().quarantine?.until).toBe(Number.MAX_SAFE_INTEGER);
    expect(digests.size).toBe(0);
  });

  it('lifts a re-derivation quarantine once every piece has a digest again', async () => {
    const { service, jobs, task, quarantine } = fixture();
    quarantine({ reason: 'incident', until: Date.now() + 60_000 });
    await service.run(jobs[0] as DigestJob);
    expect(task().quarantine).toBeDefined();
    for (const job of jobs.slice(1)) await service.run(job);
    expect(task().quarantine).toBeUndefined();
  });
});
