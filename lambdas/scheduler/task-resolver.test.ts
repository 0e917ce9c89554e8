import { describe, expect, it } from 'vitest';
import type { ObjectHead, OriginReader } from '../domain/origin.ts';
import type { TaskRecord, TaskStore, UrlRecord } from '../domain/task.ts';
import { DEFAULT_SCHEDULER_SETTINGS } from './settings.ts';
import { TaskResolver } from './task-resolver.ts';

/** An in-memory task store: only what resolve() uses. */
function memoryTasks(): TaskStore {
  const urls = new Map<string, UrlRecord>();
  const tasks = new Map<string, TaskRecord>();
  return {
    getUrl: async (url) => urls.get(url),
    putUrl: async (record) => void urls.set(record.url, record),
    getTask: async (id) => tasks.get(id),
    createTask: async (task) => tasks.get(task.id) ?? (tasks.set(task.id, task), task),
  } as Partial<TaskStore> as TaskStore;
}

/** A versioned object whose current version is `v2`; `v1` is an older one. */
function versionedOrigin(heads: string[]): OriginReader {
  const versions: Record<string, ObjectHead> = { v1: { size: 10, etag: '"old"', versionId: 'v1' }, v2: { size: 20, etag: '"new"', versionId: 'v2' } };
  return {
    head: async (_bucket, _key, versionId) => {
      heads.push(versionId ?? '(current)');
      return versions[versionId ?? 'v2'];
    },
  };
}

describe('TaskResolver and pinned versions', () => {
  it('resolves a versionId naming the current version to the plain URL task, and an older one to its own', async () => {
    const heads: string[] = [];
    const resolver = new TaskResolver({ tasks: memoryTasks(), origin: versionedOrigin(heads), settings: DEFAULT_SCHEDULER_SETTINGS, now: () => 1 });
    const plain = await resolver.resolve('s3://bucket/k.bin', 'default');
    const current = await resolver.resolve('s3://bucket/k.bin?versionId=v2', 'default');
    expect(current.task.id).toBe(plain.task.id);
    expect(current.task.url).toBe('s3://bucket/k.bin');
    const older = await resolver.resolve('s3://bucket/k.bin?versionId=v1', 'default');
    expect(older.task.id).not.toBe(plain.task.id);
    expect(older.task.size).toBe(10);
    // An older version is immutable once seen: no more HEADs for it.
    const count = heads.length;
    await resolver.resolve('s3://bucket/k.bin?versionId=v1', 'default');
    expect(heads.length).toBe(count);
  });
});
