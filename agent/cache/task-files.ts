import { mkdir, open, rename, stat, writeFile } from 'node:fs/promises';
import { createReadStream, type ReadStream } from 'node:fs';
import { join } from 'node:path';
import { Bitfield } from '../../core/bitfield.ts';
import { StorageError } from '../../core/errors.ts';
import { pieceRange, type ByteRange } from '../../core/piece-math.ts';
import type { TaskInfo } from '../../core/wire/scheduler.ts';
import type { Throttle } from '../http/throttle.ts';
import { HandlePool } from './handle-pool.ts';
import { PieceWriter, writevFully } from './piece-writer.ts';
import { guard } from './storage-guard.ts';

/**
 * state.json: the task, its verified pieces and their digests, plus fields other
 * modules keep there through keep() (the child view's `unpublished` pieces).
 */
export interface TaskState {
  readonly task: TaskInfo;
  readonly bitfield: string;
  readonly digests: Record<string, string>;
  readonly lastUsedAt: number;
  readonly [kept: string]: unknown;
}

const OWN_FIELDS = new Set(['task', 'bitfield', 'digests', 'lastUsedAt']);

/**
 * One cached task on disk: a preallocated data file plus a small state file
 * (verified-piece bitfield and digests) rewritten atomically, so a restarted
 * agent resumes from the pieces it had verified. Holds disk state only: what
 * children may see is the child view's (peer/child-view.ts), peer keys are
 * peer auth's (peer/peer-auth.ts).
 */
export class TaskFiles {
  private readonly pieceDigests = new Map<number, string>();
  private usedAt: number;
  private readonly verified: Bitfield;
  private isClosed = false;
  private users = 0;
  private readonly verifiedListeners = new Set<(index: number) => void>();
  private readonly closeListeners = new Set<() => void>();
  /** Fields of state.json owned elsewhere: their current value, or what the last run saved until an owner registers. */
  private readonly kept = new Map<string, () => unknown>();
  private prepared = false;
  private persistTimer?: NodeJS.Timeout;
  private persisting: Promise<void> = Promise.resolve();
  private wasUsed: boolean;
  /** The latest writer of each piece not yet verified: their bytes are the pull's progress within pieces. */
  private readonly writers = new Map<number, PieceWriter>();

  /** `handles`: the cache's pool of open data files (the piece store passes its own; one per task files otherwise). */
  constructor(
    readonly task: TaskInfo,
    readonly dir: string,
    state?: TaskState,
    private readonly throttle?: Throttle,
    private readonly handles: HandlePool = new HandlePool(1),
  ) {
    this.verified = state ? Bitfield.fromBase64(task.pieceCount, state.bitfield) : new Bitfield(task.pieceCount);
    for (const [index, digest] of Object.entries(state?.digests ?? {})) this.pieceDigests.set(Number(index), digest);
    for (const [key, value] of Object.entries(state ?? {})) if (!OWN_FIELDS.has(key)) this.kept.set(key, () => value);
    this.usedAt = state?.lastUsedAt ?? Date.now();
    this.wasUsed = state !== undefined;
  }

  /** Verified pieces: the live set, for reading (markVerified() is the one way in). */
  get bitfield(): Bitfield {
    return this.verified;
  }

  /** Digests of the verified pieces (sha256 hex by piece index). */
  get digests(): ReadonlyMap<number, string> {
    return this.pieceDigests;
  }

  /** When a pull or a read last used the task (epoch ms): eviction goes least recently used first. */
  get lastUsedAt(): number {
    return this.usedAt;
  }

  get dataPath(): string {
    return join(this.dir, 'data');
  }

  get complete(): boolean {
    return this.verified.complete;
  }

  /** Set once the task is closed (evicted, removed, or the agent is stopping). */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Whether a pull or a read holds the task (see use()): eviction skips it then. */
  get inUse(): boolean {
    return this.users > 0;
  }

  get completedBytes(): number {
    const { pieceCount, pieceLength, size } = this.task;
    // Every piece is pieceLength long except possibly the last.
    const shortfall = pieceCount > 0 && this.verified.has(pieceCount - 1) ? pieceCount * pieceLength - size : 0;
    return this.verified.count * pieceLength - shortfall;
  }

  range(index: number): ByteRange {
    return pieceRange(index, this.task.size, this.task.pieceLength);
  }

  /** Holds the task against eviction until the returned function is called (once; later calls do nothing). */
  use(): () => void {
    this.users++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.users--;
    };
  }

  /**
   * Creates (and preallocates) the data file if it is missing. No handle is kept:
   * piece writes borrow one from the pool, so a cached task holds no descriptor.
   */
  async prepare(): Promise<void> {
    if (this.prepared) return;
    await guard(this.dataPath, async () => {
      await mkdir(this.dir, { recursive: true });
      const exists = await stat(this.dataPath).then((s) => s.size === this.task.size, () => false);
      if (exists) return;
      const handle = await open(this.dataPath, 'w+');
      try {
        await handle.truncate(this.task.size);
      } finally {
        await handle.close();
      }
    });
    this.prepared = true;
    if (!(await stat(join(this.dir, 'state.json')).catch(() => undefined))) await this.persistNow();
  }

  /** A writer for one piece: bytes go straight to their place in the data file while being hashed. */
  pieceWriter(index: number): PieceWriter {
    if (!this.prepared) throw new StorageError('task files are not prepared', { context: { taskId: this.task.id } });
    const write = (buffers: readonly Buffer[], position: number) => this.handles.with(this.dataPath, (handle) => writevFully(handle, buffers, position));
    const writer = new PieceWriter(write, this.range(index), this.dataPath, this.throttle);
    this.writers.set(index, writer);
    return writer;
  }

  /** Bytes received of pieces still being written (not yet verified), for progress bars. */
  get receivingBytes(): number {
    let bytes = 0;
    for (const writer of this.writers.values()) bytes += writer.written;
    return bytes;
  }

  /** Marks a piece as verified; only now may it be served. */
  markVerified(index: number, digest: string): void {
    this.pieceDigests.set(index, digest);
    this.verified.set(index);
    this.writers.delete(index);
    this.usedAt = Date.now();
    this.schedulePersist();
    for (const listener of [...this.verifiedListeners]) listener(index);
  }

  /**
   * Takes back a piece whose bytes on disk no longer match its digest (a
   * damaged disk, a truncated file): it is no longer served and is fetched again.
   */
  unverify(index: number): void {
    if (!this.verified.has(index)) return;
    this.verified.clear(index);
    this.pieceDigests.delete(index);
    this.schedulePersist();
  }

  /** Calls `listener` with each piece verified from now on; returns the unsubscribe function. */
  onVerified(listener: (index: number) => void): () => void {
    this.verifiedListeners.add(listener);
    return () => void this.verifiedListeners.delete(listener);
  }

  /** Calls `listener` once the task is closed; returns the unsubscribe function. */
  onClosed(listener: () => void): () => void {
    this.closeListeners.add(listener);
    return () => void this.closeListeners.delete(listener);
  }

  /** Resolves once piece `index` is verified (at once if it already is). */
  whenVerified(index: number, signal?: AbortSignal): Promise<void> {
    if (this.verified.has(index)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const unsubscribe = this.onVerified((verified) => {
        if (verified !== index) return;
        unsubscribe();
        resolve();
      });
      signal?.addEventListener('abort', () => {
        unsubscribe();
        reject(signal.reason);
      }, { once: true });
    });
  }

  /**
   * Keeps field `key` in state.json for another module: `value` gives what to write,
   * and the call returns what the last run saved (undefined if nothing). Call
   * changed() when the value changes.
   */
  keep(key: string, value: () => unknown): unknown {
    if (OWN_FIELDS.has(key)) throw new Error(`state.json field ${key} belongs to the task files`);
    const saved = this.kept.get(key)?.();
    this.kept.set(key, value);
    return saved;
  }

  /** A kept field changed: persist soon. */
  changed(): void {
    this.schedulePersist();
  }

  readStream(range: ByteRange, highWaterMark = 256 * 1024): ReadStream {
    return createReadStream(this.dataPath, { start: range.start, end: range.end - 1, highWaterMark });
  }

  /** Whether a pull or a run before this one used the task: a complete task that was never used is new, even at 0 bytes. */
  get used(): boolean {
    return this.wasUsed;
  }

  touch(): void {
    this.usedAt = Date.now();
    this.wasUsed = true;
    this.schedulePersist();
  }

  async flush(): Promise<void> {
    if (this.persistTimer) {
      clearTimeout(this.persistTimer);
      this.persistTimer = undefined;
    }
    await this.persistNow();
  }

  async close(): Promise<void> {
    await this.flush();
    await this.handles.close(this.dataPath);
    this.prepared = false;
    this.isClosed = true;
    // Watching children learn that the task is gone here (see bitfield-watch.ts).
    for (const listener of [...this.closeListeners]) listener();
  }

  /** Persists soon: writes coalesce, so a crash loses at most the pieces verified in the last few ms. */
  private schedulePersist(): void {
    if (this.persistTimer) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined;
      void this.persistNow().catch(() => {});
    }, 20);
  }

  private persistNow(): Promise<void> {
    const kept = Object.fromEntries([...this.kept].map(([key, value]) => [key, value()]));
    const state: TaskState = {
      ...kept,
      task: this.task,
      bitfield: this.verified.toBase64(),
      digests: Object.fromEntries([...this.pieceDigests].map(([i, d]) => [String(i), d])),
      lastUsedAt: this.usedAt,
    };
    const path = join(this.dir, 'state.json');
    // Chain writes so an older state never lands after a newer one; a failed one (disk full)
    // fails its own caller only: the next write tries again.
    const write = this.persisting.catch(() => {}).then(() =>
      guard(path, async () => {
        const temp = `${path}.${process.pid}.tmp`;
        await writeFile(temp, JSON.stringify(state));
        await rename(temp, path);
      }),
    );
    this.persisting = write;
    return write;
  }
}
