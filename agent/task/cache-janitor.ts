import { ConflictError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { PieceStore } from '../cache/piece-store.ts';
import type { TaskFiles } from '../cache/task-files.ts';
import type { TaskManager } from './task-manager.ts';

export interface CacheEntry {
  readonly taskId: string;
  readonly url: string;
  readonly size: number;
  readonly completedBytes: number;
  readonly complete: boolean;
  readonly inUse: boolean;
  readonly lastUsedAt: string;
}

export interface CacheJanitorOptions {
  readonly store: PieceStore;
  readonly tasks: TaskManager;
  readonly log: Logger;
  /** Bytes the cache may hold; older unused tasks are evicted beyond it. */
  readonly quotaBytes: number;
  readonly intervalMs?: number;
}

/**
 * Keeps the disk cache under its quota: least recently used tasks that no
 * pull is reading or writing go first. Runs at start, periodically and after
 * pulls. An evicted or removed task stops its session and leaves the swarm
 * (a best-effort `leave`, not awaited) as its files are removed.
 */
export class CacheJanitor {
  private timer?: NodeJS.Timeout;
  private running?: Promise<string[]>;

  constructor(private readonly options: CacheJanitorOptions) {}

  start(): void {
    void this.collect();
    this.timer = setInterval(() => void this.collect(), this.options.intervalMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  summary(): { usedBytes: number; quotaBytes: number; taskCount: number } {
    return { usedBytes: this.usedBytes(), quotaBytes: this.options.quotaBytes, taskCount: this.options.store.list().length };
  }

  usedBytes(): number {
    return this.options.store.list().reduce((sum, files) => sum + footprint(files), 0);
  }

  list(): CacheEntry[] {
    return this.options.store
      .list()
      .sort((a, b) => b.lastUsedAt - a.lastUsedAt)
      .map((files) => ({
        taskId: files.task.id,
        url: files.task.url,
        size: files.task.size,
        completedBytes: files.completedBytes,
        complete: files.complete,
        inUse: this.inUse(files),
        lastUsedAt: new Date(files.lastUsedAt).toISOString(),
      }));
  }

  async remove(taskId: string): Promise<void> {
    const files = this.options.store.get(taskId);
    if (files && this.inUse(files)) throw new ConflictError(`task ${taskId} is in use by a pull; try again when it is done`);
    this.options.tasks.forget(taskId);
    await this.options.store.remove(taskId);
  }

  /** Evicts until the cache fits its quota (or `extraBytes` more would fit). Returns evicted task ids. */
  collect(extraBytes = 0): Promise<string[]> {
    this.running ??= this.evict(extraBytes).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async evict(extraBytes: number): Promise<string[]> {
    const evicted: string[] = [];
    let used = this.usedBytes();
    const candidates = this.options.store
      .list()
      .filter((files) => !this.inUse(files))
      .sort((a, b) => a.lastUsedAt - b.lastUsedAt);
    for (const files of candidates) {
      if (used + extraBytes <= this.options.quotaBytes) break;
      try {
        await this.remove(files.task.id);
        used -= footprint(files);
        evicted.push(files.task.id);
      } catch (error) {
        this.options.log.warn('eviction failed', { taskId: files.task.id, error });
      }
    }
    if (evicted.length) this.options.log.info('cache evicted tasks', { evicted, usedBytes: used, quotaBytes: this.options.quotaBytes });
    return evicted;
  }

  private inUse(files: TaskFiles): boolean {
    if (files.inUse) return true;
    const session = this.options.tasks.session(files.task.id);
    return session !== undefined && !files.complete && !session.failed && session.downloader.remaining > 0;
  }
}

/** What a task occupies: the whole object once complete, else its verified pieces. */
function footprint(files: TaskFiles): number {
  return files.complete ? files.task.size : files.completedBytes;
}
