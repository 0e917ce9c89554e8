import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { createReadStream, type ReadStream } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { join } from 'node:path';
import { Bitfield } from '../../core/bitfield.ts';
import { MayflyError, NotFoundError, StorageError } from '../../core/errors.ts';
import { pieceRange, type ByteRange } from '../../core/piece-math.ts';
import { taskInfoSchema, type TaskInfo } from '../../core/wire/scheduler.ts';
import { isHexId } from '../../core/ids.ts';
import type { Throttle } from '../http/throttle.ts';

interface TaskState {
  readonly task: TaskInfo;
  readonly bitfield: string;
  readonly digests: Record<string, string>;
  readonly lastUsedAt: number;
  readonly unpublished?: number[];
}

/**
 * One cached task on disk: a preallocated data file plus a small state file
 * (verified-piece bitfield and digests) rewritten atomically, so a restarted
 * agent resumes from the pieces it had verified.
 */
export class TaskFiles {
  readonly bitfield: Bitfield;
  readonly digests = new Map<number, string>();
  lastUsedAt: number;
  /** Set once the task is closed (evicted, removed, or the agent is stopping). */
  closed = false;
  /** Pulls currently reading or writing this task; eviction skips it while > 0. */
  users = 0;
  /** The task key from the scheduler that children's credentials are checked with (memory only). */
  peerKey?: string;
  /** Pieces read from the origin whose digest could not be published: kept, but never served. */
  readonly unpublished = new Set<number>();
  /** Pieces this agent read from the origin in this run: the swarm's rarest (see SpreadTracker). */
  readonly fromOrigin = new Set<number>();
  /** Output files of pulls in progress: every batch written to the cache goes to them too. */
  private readonly mirrors = new Set<PieceMirror>();
  private readonly verifiedListeners = new Set<(index: number) => void>();
  private readonly advertisedListeners = new Set<() => void>();
  private handle?: FileHandle;
  private persistTimer?: NodeJS.Timeout;
  private persisting: Promise<void> = Promise.resolve();

  constructor(readonly task: TaskInfo, readonly dir: string, state?: TaskState, private readonly throttle?: Throttle) {
    this.bitfield = state ? Bitfield.fromBase64(task.pieceCount, state.bitfield) : new Bitfield(task.pieceCount);
    for (const [index, digest] of Object.entries(state?.digests ?? {})) this.digests.set(Number(index), digest);
    for (const index of state?.unpublished ?? []) this.unpublished.add(index);
    this.lastUsedAt = state?.lastUsedAt ?? Date.now();
  }

  get dataPath(): string {
    return join(this.dir, 'data');
  }

  get complete(): boolean {
    return this.bitfield.complete;
  }

  get completedBytes(): number {
    const { pieceCount, pieceLength, size } = this.task;
    // Every piece is pieceLength long except possibly the last.
    const shortfall = pieceCount > 0 && this.bitfield.has(pieceCount - 1) ? pieceCount * pieceLength - size : 0;
    return this.bitfield.count * pieceLength - shortfall;
  }

  range(index: number): ByteRange {
    return pieceRange(index, this.task.size, this.task.pieceLength);
  }

  /** Opens (and on first use preallocates) the data file. */
  async prepare(): Promise<void> {
    if (this.handle) return;
    await guard(this.dataPath, async () => {
      await mkdir(this.dir, { recursive: true });
      const exists = await stat(this.dataPath).then((s) => s.size === this.task.size, () => false);
      this.handle = await open(this.dataPath, exists ? 'r+' : 'w+');
      if (!exists) await this.handle.truncate(this.task.size);
    });
    if (!(await stat(join(this.dir, 'state.json')).catch(() => undefined))) await this.persistNow();
  }

  /** A writer for one piece: bytes go straight to their place in the data file while being hashed. */
  pieceWriter(index: number): PieceWriter {
    if (!this.handle) throw new StorageError('task files are not prepared', { context: { taskId: this.task.id } });
    return new PieceWriter(this.handle, this.range(index), this.dataPath, this.throttle, [...this.mirrors], index);
  }

  /** Until removed, pieces written from now on also go to `mirror` (see OutputMirror). */
  addMirror(mirror: PieceMirror): void {
    this.mirrors.add(mirror);
  }

  removeMirror(mirror: PieceMirror): void {
    this.mirrors.delete(mirror);
  }

  /** Marks a piece as verified; only now may it be served. */
  markVerified(index: number, digest: string): void {
    this.digests.set(index, digest);
    this.bitfield.set(index);
    this.lastUsedAt = Date.now();
    this.schedulePersist();
    for (const listener of this.verifiedListeners) listener(index);
    if (!this.unpublished.has(index)) this.advertisedChanged();
  }

  /** A piece read from the origin whose digest is now published: children may have it. */
  markPublished(index: number): void {
    if (!this.unpublished.delete(index)) return;
    this.schedulePersist();
    this.advertisedChanged();
  }

  /** Calls `listener` whenever advertised() may have grown; returns the unsubscribe function. */
  onAdvertised(listener: () => void): () => void {
    this.advertisedListeners.add(listener);
    return () => this.advertisedListeners.delete(listener);
  }

  /** Tells watchers advertised() may have grown (also used when a resting piece is offered again). */
  advertisedChanged(): void {
    for (const listener of [...this.advertisedListeners]) listener();
  }

  /** What peers may see: verified pieces that children can check against the manifest. */
  advertised(): Bitfield {
    if (this.unpublished.size === 0) return this.bitfield;
    const copy = new Bitfield(this.task.pieceCount, this.bitfield.toBytes());
    for (const index of this.unpublished) copy.clear(index);
    return copy;
  }

  /** Resolves once piece `index` is verified (at once if it already is). */
  whenVerified(index: number, signal?: AbortSignal): Promise<void> {
    if (this.bitfield.has(index)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const listener = (verified: number) => {
        if (verified !== index) return;
        this.verifiedListeners.delete(listener);
        resolve();
      };
      this.verifiedListeners.add(listener);
      signal?.addEventListener('abort', () => {
        this.verifiedListeners.delete(listener);
        reject(signal.reason);
      }, { once: true });
    });
  }

  readStream(range: ByteRange, highWaterMark = 256 * 1024): ReadStream {
    return createReadStream(this.dataPath, { start: range.start, end: range.end - 1, highWaterMark });
  }

  touch(): void {
    this.lastUsedAt = Date.now();
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
    await this.handle?.close();
    this.handle = undefined;
    this.closed = true;
    // Watching children learn that the task is gone here (see bitfield-watch.ts).
    this.advertisedChanged();
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
    const state: TaskState = {
      task: this.task,
      bitfield: this.bitfield.toBase64(),
      digests: Object.fromEntries([...this.digests].map(([i, d]) => [String(i), d])),
      lastUsedAt: this.lastUsedAt,
      unpublished: [...this.unpublished],
    };
    const path = join(this.dir, 'state.json');
    // Chain writes so an older state never lands after a newer one.
    this.persisting = this.persisting.then(() =>
      guard(path, async () => {
        const temp = `${path}.${process.pid}.tmp`;
        await writeFile(temp, JSON.stringify(state));
        await rename(temp, path);
      }),
    );
    return this.persisting;
  }
}

/** Bytes gathered before one positional write: fewer syscalls per GB received. */
const WRITE_BATCH_BYTES = 1024 * 1024;

export class PieceWriter {
  private readonly hash: Hash = createHash('sha256');
  private position: number;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  written = 0;
  /** Chunks received so far (for the data-path debug log: bytes per read say how batched the socket reads are). */
  chunks = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly range: ByteRange,
    private readonly path: string,
    private readonly throttle?: Throttle,
    private readonly mirrors: readonly PieceMirror[] = [],
    private readonly index = -1,
  ) {
    this.position = range.start;
  }

  get expectedLength(): number {
    return this.range.end - this.range.start;
  }

  /**
   * Hashes and queues one chunk. Returns a promise only when the caller must
   * wait before the next chunk (a batch is going to disk, or the download limit
   * is reached); most chunks cost no promise at all.
   */
  write(chunk: Buffer): Promise<void> | undefined {
    if (this.written + chunk.length > this.expectedLength) {
      throw new StorageError('piece is longer than expected', { context: { expected: this.expectedLength } });
    }
    this.written += chunk.length;
    this.chunks++;
    // Pausing the caller's read loop makes the download limit hold on the wire.
    const wait = this.throttle?.consume(chunk.length);
    if (wait) return wait.then(() => this.accept(chunk));
    return this.accept(chunk);
  }

  /** Writes what is left and returns the piece's sha256, once all its bytes have arrived. */
  async finish(): Promise<string> {
    if (this.written !== this.expectedLength) {
      throw new StorageError(`piece ended after ${this.written} of ${this.expectedLength} bytes`);
    }
    await this.flush();
    for (const mirror of this.mirrors) mirror.written.add(this.index);
    return this.hash.digest('hex');
  }

  private accept(chunk: Buffer): Promise<void> | undefined {
    this.hash.update(chunk);
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    return this.batchBytes >= WRITE_BATCH_BYTES ? this.flush() : undefined;
  }

  /** One positional writev per batch (no copy into a bigger buffer), to the cache and to any output mirror at once. */
  private async flush(): Promise<void> {
    if (this.batchBytes === 0) return;
    const buffers = this.batch;
    const position = this.position;
    this.position += this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    await Promise.all([guard(this.path, () => writevFully(this.handle, buffers, position)), ...this.mirrors.map((mirror) => mirror.write(buffers, position))]);
  }
}

/** Where a piece writer also puts its batches (the output file of a pull in progress). */
export interface PieceMirror {
  /** Pieces whose every batch this mirror was given. */
  readonly written: Set<number>;
  write(buffers: readonly Buffer[], position: number): Promise<void>;
}

/** Writes all of `buffers` at `position`, going on after short writes (rare: disk nearly full, a signal). */
export async function writevFully(handle: FileHandle, buffers: readonly Buffer[], position: number): Promise<void> {
  let pending = [...buffers];
  let remaining = pending.reduce((sum, buffer) => sum + buffer.length, 0);
  while (remaining > 0) {
    const { bytesWritten } = await handle.writev(pending, position);
    position += bytesWritten;
    remaining -= bytesWritten;
    if (remaining > 0) {
      const all = Buffer.concat(pending);
      pending = [all.subarray(all.length - remaining)];
    }
  }
}

/** All cached tasks under `<root>/tasks/<taskId>/`. */
export class PieceStore {
  private readonly tasks = new Map<string, TaskFiles>();
  /**
   * Once the scheduler has handed out peer credentials, this agent refuses
   * peers without one — also after a restart, before it has announced again.
   */
  peerAuthRequired = false;

  constructor(readonly root: string, private readonly downloadThrottle?: Throttle) {}

  async requirePeerAuth(): Promise<void> {
    if (this.peerAuthRequired) return;
    this.peerAuthRequired = true;
    await writeFile(join(this.root, 'peer-auth-required'), 'Peers must present a scheduler-issued credential.\n').catch(() => {});
  }

  /** Loads what a previous run left; tasks with unreadable state are removed. */
  async load(): Promise<void> {
    const dir = join(this.root, 'tasks');
    await guard(dir, () => mkdir(dir, { recursive: true }));
    this.peerAuthRequired = await stat(join(this.root, 'peer-auth-required')).then(() => true, () => false);
    for (const name of await readdir(dir)) {
      if (!isHexId(name)) continue;
      const taskDir = join(dir, name);
      try {
        const state = JSON.parse(await readFile(join(taskDir, 'state.json'), 'utf8')) as TaskState;
        const task = taskInfoSchema.parse(state.task);
        if (task.id !== name) throw new Error('task id mismatch');
        this.tasks.set(name, new TaskFiles(task, taskDir, state, this.downloadThrottle));
      } catch {
        await rm(taskDir, { recursive: true, force: true });
      }
    }
  }

  get(taskId: string): TaskFiles | undefined {
    return this.tasks.get(taskId);
  }

  async open(task: TaskInfo): Promise<TaskFiles> {
    let files = this.tasks.get(task.id);
    if (!files) {
      files = new TaskFiles(task, join(this.root, 'tasks', task.id), undefined, this.downloadThrottle);
      this.tasks.set(task.id, files);
    }
    await files.prepare();
    return files;
  }

  list(): TaskFiles[] {
    return [...this.tasks.values()];
  }

  async remove(taskId: string): Promise<void> {
    const files = this.tasks.get(taskId);
    if (!files) throw new NotFoundError(`task ${taskId} is not cached`);
    this.tasks.delete(taskId);
    await files.close().catch(() => {});
    await rm(files.dir, { recursive: true, force: true });
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.list().map((files) => files.close().catch(() => {})));
  }
}

export async function guard<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof MayflyError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    const reason = code === 'ENOSPC' ? 'disk full' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code;
    throw new StorageError(`cache storage failed at ${path}: ${reason}`, { cause: error, context: { path, errno: code } });
  }
}
