import { chmod, mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Bitfield } from '../../core/bitfield.ts';
import { NotFoundError } from '../../core/errors.ts';
import { taskInfoSchema, type TaskInfo } from '../../core/wire/scheduler.ts';
import { isHexId } from '../../core/ids.ts';
import type { Throttle } from '../http/throttle.ts';
import { HandlePool } from './handle-pool.ts';
import { TaskFiles, type TaskState } from './task-files.ts';
import { guard } from './storage-guard.ts';

/** A cached task whose saved state the files on disk did not match at start-up. */
export interface StoreRepair {
  readonly taskId: string;
  readonly reason: string;
}

/** All cached tasks under `<root>/tasks/<taskId>/`: the registry of what is on disk. */
export class PieceStore {
  private readonly tasks = new Map<string, TaskFiles>();

  /** `handles`: the pool of open data files all cached tasks share (bounded: descriptors do not grow with the cache). */
  constructor(readonly root: string, private readonly downloadThrottle?: Throttle, readonly handles = new HandlePool()) {}

  /**
   * Loads what a previous run left: tasks with unreadable state are removed,
   * temp files of an interrupted run are deleted, and a task whose data file is
   * missing or not the task's size (truncated, replaced) keeps no verified
   * piece. Returns those repairs, for the log.
   */
  async load(): Promise<StoreRepair[]> {
    const dir = join(this.root, 'tasks');
    const repairs: StoreRepair[] = [];
    // Owner only, also when a previous run made it: cached objects (a registry blob, an S3 object
    // the host's grant admits) are served through the mirror and APIs, never to whoever can read the disk.
    await guard(dir, async () => {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700);
    });
    for (const name of await readdir(dir)) {
      if (!isHexId(name)) continue;
      const taskDir = join(dir, name);
      try {
        for (const entry of await readdir(taskDir)) if (entry.endsWith('.tmp')) await rm(join(taskDir, entry), { force: true });
        let state = JSON.parse(await readFile(join(taskDir, 'state.json'), 'utf8')) as TaskState;
        const task = taskInfoSchema.parse(state.task);
        if (task.id !== name) throw new Error('task id mismatch');
        const size = await stat(join(taskDir, 'data')).then((s) => s.size, () => undefined);
        if (size !== task.size && state.bitfield !== new Bitfield(task.pieceCount).toBase64()) {
          repairs.push({ taskId: name, reason: size === undefined ? 'data file missing' : `data file is ${size} bytes, the task ${task.size}` });
          state = { ...state, bitfield: new Bitfield(task.pieceCount).toBase64(), digests: {} };
          await rm(join(taskDir, 'data'), { force: true });
        }
        this.tasks.set(name, new TaskFiles(task, taskDir, state, this.downloadThrottle, this.handles));
      } catch {
        await rm(taskDir, { recursive: true, force: true });
      }
    }
    return repairs;
  }

  get(taskId: string): TaskFiles | undefined {
    return this.tasks.get(taskId);
  }

  async open(task: TaskInfo): Promise<TaskFiles> {
    let files = this.tasks.get(task.id);
    if (!files) {
      files = new TaskFiles(task, join(this.root, 'tasks', task.id), undefined, this.downloadThrottle, this.handles);
      this.tasks.set(task.id, files);
    }
    await files.prepare();
    return files;
  }

  list(): TaskFiles[] {
    return [...this.tasks.values()];
  }

  /** Closes the task's files and deletes them. Throws NotFoundError if the task is not cached. */
  async remove(taskId: string): Promise<void> {
    const files = this.tasks.get(taskId);
    if (!files) throw new NotFoundError(`task ${taskId} is not cached`);
    this.tasks.delete(taskId);
    await files.close().catch(() => {});
    await rm(files.dir, { recursive: true, force: true });
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.list().map((files) => files.close().catch(() => {})));
    await this.handles.closeAll();
  }
}
