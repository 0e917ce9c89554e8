import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The state file a tree pull keeps in DIR, so an interrupted pull resumes. */
export const TREE_STATE_FILE = '.mayfly-tree.json';

interface StateFile {
  readonly version: 1;
  readonly url: string;
  /** Path under DIR → the ETag and size of the version written there. */
  readonly files: Record<string, { etag: string; size: number }>;
}

/**
 * What a tree pull has completed in DIR: a file is kept on the next run when it is
 * recorded with the ETag the fresh listing names and still has that size on disk.
 * The file is small JSON, rewritten atomically (temp + rename) as files complete;
 * a state file that does not parse is ignored (everything is pulled again).
 */
export class TreeState {
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  private constructor(
    private readonly dir: string,
    private readonly url: string,
    private readonly files: Record<string, { etag: string; size: number }>,
  ) {}

  static async load(dir: string, url: string): Promise<TreeState> {
    const text = await readFile(join(dir, TREE_STATE_FILE), 'utf8').catch(() => undefined);
    let files: StateFile['files'] = {};
    try {
      const parsed = text ? (JSON.parse(text) as StateFile) : undefined;
      if (parsed?.version === 1 && parsed.url === url && parsed.files && typeof parsed.files === 'object') files = parsed.files;
    } catch {
      // An unreadable state file only costs a full pull.
    }
    return new TreeState(dir, url, Object.assign(Object.create(null), files));
  }

  /** True when `path` holds this very version (the ETag recorded and the size on disk). */
  async complete(path: string, etag: string, size: number): Promise<boolean> {
    const entry = this.files[path];
    if (!entry || entry.etag !== etag || entry.size !== size) return false;
    const info = await stat(join(this.dir, path)).catch(() => undefined);
    return info?.isFile() === true && info.size === size;
  }

  /** Records a completed file; the write to disk is coalesced with others in flight. */
  record(path: string, etag: string, size: number): Promise<void> {
    this.files[path] = { etag, size };
    this.dirty = true;
    this.writing = this.writing.then(() => this.flush());
    return this.writing;
  }

  private async flush(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const body: StateFile = { version: 1, url: this.url, files: this.files };
    const temp = join(this.dir, `${TREE_STATE_FILE}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
    try {
      await writeFile(temp, JSON.stringify(body));
      await rename(temp, join(this.dir, TREE_STATE_FILE));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }
}
