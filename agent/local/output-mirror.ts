import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StorageError } from '../../core/errors.ts';
import { writevFully, type PieceMirror } from '../cache/piece-writer.ts';
import { guard } from '../cache/storage-guard.ts';
import type { TaskFiles } from '../cache/task-files.ts';

const COPY_CHUNK_BYTES = 1024 * 1024;

/** A hidden temp path beside `output`, whose folder must exist: renamed into place, it replaces the output atomically. */
export async function tempBeside(output: string): Promise<string> {
  const dir = dirname(output);
  const folder = await stat(dir).catch(() => undefined);
  if (!folder?.isDirectory()) throw new StorageError(`output folder ${dir} does not exist`, { context: { path: dir } });
  return join(dir, `.${basename(output)}.mayfly-${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Last hop of the data path for `pull --output`: the user's file. Where the
 * output's filesystem can clone the cache file (reflinks: XFS, as on Amazon
 * Linux 2023, or btrfs), the output is a clone made once every piece is
 * verified: the bytes are written once, to the cache, and share its blocks.
 * Elsewhere (ext4, another filesystem) it is written while the pieces arrive:
 * every batch a piece writer puts in the cache also goes to a hidden temp file
 * beside the output, so the file is ready when the last piece is, with no copy
 * of the whole object after the download, when every host of a swarm would
 * make it at once. Pieces cached before the pull began are copied at the end.
 * Either way the temp file is renamed into place only when complete, so a
 * failed pull never leaves a partial file.
 */
export class OutputMirror implements PieceMirror {
  readonly written = new Set<number>();
  private failure?: unknown;

  private constructor(
    readonly output: string,
    private readonly temp: string,
    private readonly handle: FileHandle | undefined,
  ) {}

  /** True when the output will be a clone of the cache file: it then takes no writes meanwhile. */
  get cloning(): boolean {
    return this.handle === undefined;
  }

  /**
   * Checks the folder and creates the temp file before any byte arrives: a clone
   * of the (still partial) cache file `dataPath` where the filesystem allows one,
   * else an empty file of the object's size to mirror into.
   */
  static async create(output: string, size: number, dataPath: string): Promise<OutputMirror> {
    const temp = await tempBeside(output);
    if (await cloneInto(dataPath, temp)) return new OutputMirror(output, temp, undefined);
    const handle = await guard(temp, () => open(temp, 'w'));
    try {
      await guard(temp, () => handle.truncate(size));
    } catch (error) {
      await handle.close().catch(() => {});
      await rm(temp, { force: true });
      throw error;
    }
    return new OutputMirror(output, temp, handle);
  }

  /** One batch, as written to the cache. Never throws: a failure (say, the output's disk is full) is kept for commit(). */
  async write(buffers: readonly Buffer[], position: number): Promise<void> {
    if (this.failure !== undefined || !this.handle) return;
    try {
      await writevFully(this.handle, buffers, position);
    } catch (error) {
      this.failure = error;
    }
  }

  /** Once every piece is verified: copies what the mirror did not see, then renames the file into place. */
  async commit(files: TaskFiles): Promise<void> {
    try {
      if (this.failure !== undefined) await guard(this.temp, () => Promise.reject(this.failure));
      if (this.written.size === 0) {
        // A clone, or (all of it was cached already) one kernel copy where the filesystem has no reflinks.
        await this.handle?.close();
        await guard(this.temp, () => copyFile(files.dataPath, this.temp, constants.COPYFILE_FICLONE));
      } else {
        await this.copyMissing(files);
        await this.handle?.close();
      }
      await guard(this.output, () => rename(this.temp, this.output));
    } catch (error) {
      await this.discard();
      throw error;
    }
  }

  async discard(): Promise<void> {
    await this.handle?.close().catch(() => {});
    await rm(this.temp, { force: true });
  }

  private async copyMissing(files: TaskFiles): Promise<void> {
    const buffer = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
    const source = await guard(files.dataPath, () => open(files.dataPath, 'r'));
    try {
      for (let index = 0; index < files.task.pieceCount; index++) {
        if (this.written.has(index)) continue;
        const range = files.range(index);
        for (let position = range.start; position < range.end; ) {
          const length = Math.min(COPY_CHUNK_BYTES, range.end - position);
          const { bytesRead } = await guard(files.dataPath, () => source.read(buffer, 0, length, position));
          if (bytesRead === 0) throw new StorageError(`cache file ${files.dataPath} ends before byte ${position}`, { context: { path: files.dataPath } });
          await guard(this.temp, () => writevFully(this.handle!, [buffer.subarray(0, bytesRead)], position));
          position += bytesRead;
        }
      }
    } finally {
      await source.close();
    }
  }
}

/**
 * Clones `source` to `target` if their filesystem shares blocks between files
 * (reflinks); false where it cannot (ext4, tmpfs, two filesystems), and the
 * caller writes a copy instead.
 */
async function cloneInto(source: string, target: string): Promise<boolean> {
  try {
    await copyFile(source, target, constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch (error) {
    if (!CANNOT_CLONE.has((error as NodeJS.ErrnoException).code ?? '')) return guard(target, () => Promise.reject(error));
    await rm(target, { force: true });
    return false;
  }
}

/** What copyFile reports where reflinks are not to be had (filesystem, kernel, or two filesystems). */
const CANNOT_CLONE = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EINVAL', 'ENOSYS']);
