import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writevFully } from '../cache/piece-writer.ts';

/**
 * The file `mayfly get -o FILE` writes, written by the CLI's own process, so
 * it gets the caller's owner and permissions (the agent never writes outside
 * its data directory). Bytes go to a hidden temp file beside the target,
 * flushed to disk and renamed into place only when complete and checked; a
 * failed or interrupted pull removes it. A SIGKILLed CLI cannot clean up, so
 * the name says whose it is (`.NAME.mayfly-PID-RANDOM.tmp`): the next `mayfly
 * get` into the folder removes the ones of this user whose process is gone.
 */
export class OutputFile {
  /** Where the next write goes: the bytes written so far. */
  private position = 0;

  private constructor(
    readonly output: string,
    readonly temp: string,
    private handle: FileHandle | undefined,
  ) {}

  /** Creates the temp file (exclusively, mode 0666 less the umask, as any new file). Throws the errno error when the folder is not writable. */
  static async create(output: string): Promise<OutputFile> {
    await removeStaleTemps(dirname(output));
    const temp = join(dirname(output), `.${basename(output)}.mayfly-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
    return new OutputFile(output, temp, await open(temp, 'wx'));
  }

  /** Writes all of `chunks` at the end of what was written, in one writev where the kernel takes them whole. */
  async write(chunks: readonly Buffer[]): Promise<void> {
    const position = this.position;
    for (const chunk of chunks) this.position += chunk.length;
    await writevFully(this.handle!, chunks, position);
  }

  /** Starts over (the object changed while it was read): empties the temp file. */
  async reset(): Promise<void> {
    await this.handle!.truncate(0);
    await this.handle!.close();
    this.handle = await open(this.temp, 'w');
    this.position = 0;
  }

  /** fsync, then rename into place: after a crash the output is the old file or the whole new one. */
  async commit(): Promise<void> {
    await this.handle!.sync();
    await this.handle!.close();
    this.handle = undefined;
    await rename(this.temp, this.output);
  }

  async discard(): Promise<void> {
    await this.handle?.close().catch(() => {});
    this.handle = undefined;
    await rm(this.temp, { force: true });
  }
}

const TEMP_NAME = /^\..+\.mayfly-(\d+)-[0-9a-f]{8}\.tmp$/;

/** Whether `name` is spelled like a temp file of a `mayfly get` (which removeStaleTemps may remove). */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/** Removes temp files a `mayfly get` of this user left in `folder` when it was killed (its process is gone). */
export async function removeStaleTemps(folder: string): Promise<string[]> {
  const removed: string[] = [];
  const names = await readdir(folder).catch(() => [] as string[]);
  for (const name of names) {
    const pid = TEMP_NAME.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || alive(Number(pid))) continue;
    const path = join(folder, name);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile() || (process.getuid && info.uid !== process.getuid())) continue;
    await rm(path, { force: true });
    removed.push(path);
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but is someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
