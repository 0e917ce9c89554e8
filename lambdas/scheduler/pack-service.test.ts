import { describe, expect, it } from 'vitest';
import { ForbiddenError } from '../../core/errors.ts';
import { packIdOf, packUrlOf } from '../../core/pack.ts';
import type { DigestJob } from '../domain/digest.ts';
import type { Caller } from '../domain/identity.ts';
import type { TaskRecord, TaskStore } from '../domain/task.ts';
import { PackService, taskAllowed } from './pack-service.ts';
import { DEFAULT_SCHEDULER_SETTINGS } from './settings.ts';

function memoryTasks(): { store: TaskStore; tasks: Map<string, TaskRecord> } {
  const tasks = new Map<string, TaskRecord>();
  const store = {
    getTask: async (id: string) => tasks.get(id),
    createTask: async (task: TaskRecord) => tasks.get(task.id) ?? (tasks.set(task.id, task), task),
  } as Partial<TaskStore> as TaskStore;
  return { store, tasks };
}

const agent: Caller = { identity: { kind: 'agent', peerId: 'agent-1', cluster: 'default', seed: false, addrs: [] } };
const members = [
  { key: 'models/m/a.json', size: 10, etag: '"a"' },
  { key: 'models/m/b.json', size: 20, etag: '"b"' },
];

describe('PackService', () => {
  it('opens a pack once: one task for every host, its digests dispatched from the members', async () => {
    const { store, tasks } = memoryTasks();
    const jobs: DigestJob[] = [];
    const service = new PackService({
      tasks: store, settings: { ...DEFAULT_SCHEDULER_SETTINGS, allowedOrigins: ['bucket/models/'] }, now: () => 1_000,
      digests: { dispatch: async (dispatched) => void jobs.push(...dispatched) },
    });
    const info = await service.open({ bucket: 'bucket', members }, agent);
    expect(info).toMatchObject({ id: packIdOf('bucket', members), url: packUrlOf('bucket', info.id), size: 30, pieceCount: 1, digestSource: 'origin' });
    expect(tasks.get(info.id)?.pack).toEqual({ bucket: 'bucket', members });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ taskId: info.id, bucket: 'bucket', key: '', members, first: 0, count: 1 });
    // Another host, later: the same task, nothing dispatched again.
    const again = new PackService({ tasks: store, settings: { ...DEFAULT_SCHEDULER_SETTINGS, allowedOrigins: ['bucket/models/'] }, now: () => 2_000, digests: { dispatch: async (d) => void jobs.push(...d) } });
    expect((await again.open({ bucket: 'bucket', members }, agent)).id).toBe(info.id);
    expect(jobs).toHaveLength(1);
  });

  it('refuses a pack whole when one member is outside the allowlist, before anything is stored', async () => {
    const { store, tasks } = memoryTasks();
    const service = new PackService({ tasks: store, settings: { ...DEFAULT_SCHEDULER_SETTINGS, allowedOrigins: ['bucket/models/'] }, now: () => 1 });
    const outside = [...members, { key: 'secret/c.json', size: 1, etag: '"c"' }];
    await expect(service.open({ bucket: 'bucket', members: outside }, agent)).rejects.toBeInstanceOf(ForbiddenError);
    expect(tasks.size).toBe(0);
    const task = { pack: { bucket: 'bucket', members: outside } } as Partial<TaskRecord> as TaskRecord;
    expect(taskAllowed(task, ['bucket/models/'])).toBe(false);
    expect(taskAllowed(task, ['bucket/'])).toBe(true);
  });
});
