import { open, type FileHandle } from 'node:fs/promises';

/** Open data files kept by default: enough for every piece in flight, far below a process's descriptor limit. */
export const DEFAULT_OPEN_FILES = 64;

interface Entry {
  readonly opening: Promise<FileHandle>;
  users: number;
  /** Closed (or to be closed once its users are done): never handed out again. */
  retired: boolean;
}

/**
 * The cache's open data files: a bounded pool, least recently used first out.
 * A file is opened (read-write) when a piece write needs it and stays open for
 * the next one while the pool has room, so the descriptors the agent holds do
 * not grow with the number of cached tasks. A handle in use is never closed
 * under its user: when every handle is busy the pool goes over its bound for
 * that moment and shrinks back as they are released.
 */
export class HandlePool {
  /** Insertion order is recency: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();

  constructor(readonly limit = DEFAULT_OPEN_FILES) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`open file limit must be a positive integer, got ${limit}`);
  }

  /** Files open (or opening) now. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Runs `work` with an open handle on `path` (opened `r+`: the file must exist).
   * Errors: whatever opening or `work` throws; the handle stays usable for others.
   */
  async with<T>(path: string, work: (handle: FileHandle) => Promise<T>): Promise<T> {
    const entry = this.acquire(path);
    try {
      return await work(await entry.opening);
    } finally {
      this.release(path, entry);
    }
  }

  /** Closes `path`'s handle (at once if idle, else when its last user is done): the file is going away. */
  async close(path: string): Promise<void> {
    const entry = this.entries.get(path);
    if (!entry) return;
    this.entries.delete(path);
    entry.retired = true;
    if (entry.users === 0) await closeQuietly(entry.opening);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((path) => this.close(path)));
  }

  private acquire(path: string): Entry {
    let entry = this.entries.get(path);
    if (entry) {
      this.entries.delete(path);
    } else {
      entry = { opening: open(path, 'r+'), users: 0, retired: false };
      // A failed open is not kept: the next writer tries again.
      const failed = entry;
      entry.opening.catch(() => {
        if (this.entries.get(path) === failed) this.entries.delete(path);
        failed.retired = true;
      });
    }
    entry.users++;
    this.entries.set(path, entry);
    this.shrink();
    return entry;
  }

  private release(path: string, entry: Entry): void {
    entry.users--;
    if (entry.retired) {
      if (entry.users === 0) void closeQuietly(entry.opening);
      return;
    }
    if (this.entries.get(path) === entry) this.shrink();
  }

  /** Closes idle handles, least recently used first, until the pool is within its bound. */
  private shrink(): void {
    if (this.entries.size <= this.limit) return;
    for (const [path, entry] of this.entries) {
      if (this.entries.size <= this.limit) return;
      if (entry.users > 0) continue;
      this.entries.delete(path);
      entry.retired = true;
      void closeQuietly(entry.opening);
    }
  }
}

async function closeQuietly(opening: Promise<FileHandle>): Promise<void> {
  const handle = await opening.catch(() => undefined);
  await handle?.close().catch(() => {});
}
