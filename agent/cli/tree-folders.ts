import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError } from '../../core/errors.ts';

/**
 * Makes the folder `folder` (a relative path with `/`, as in a tree plan) under
 * `dir` one segment at a time, and checks that every segment is a real folder,
 * never a symbolic link: a link planted in a shared DIR by another local user
 * would otherwise have the tree's files written wherever it points (`ssh` → a
 * victim's ~/.ssh). DIR itself is the caller's choice and may be a link.
 * Returns the folder's path. Errors: StorageError naming the link or the
 * non-folder, or the errno code when a folder cannot be made.
 */
export async function ensureTreeFolder(dir: string, folder: string): Promise<string> {
  let path = dir;
  for (const segment of folder === '.' || folder === '' ? [] : folder.split('/')) {
    path = join(path, segment);
    let info = await lstat(path).catch(() => undefined);
    if (!info) {
      try {
        await mkdir(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new StorageError(`cannot create ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
      info = await lstat(path);
    }
    if (info.isSymbolicLink()) throw new StorageError(`${path} is a symbolic link; refusing to write through it (remove it, or pull into a folder only you can write)`);
    if (!info.isDirectory()) throw new StorageError(`${path} exists and is not a folder`);
  }
  return path;
}
