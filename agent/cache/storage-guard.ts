import { MayflyError, StorageError } from '../../core/errors.ts';

/** Runs a file operation on `path`; an OS error becomes a StorageError naming the path and the reason (disk full, permission). */
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
