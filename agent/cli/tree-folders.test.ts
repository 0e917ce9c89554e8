import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../core/errors.ts';
import { ensureTreeFolder } from './tree-folders.ts';

describe('ensureTreeFolder', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tree-folders-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes nested folders and accepts existing ones', async () => {
    expect(await ensureTreeFolder(dir, 'a/b/c')).toBe(join(dir, 'a/b/c'));
    expect((await stat(join(dir, 'a/b/c'))).isDirectory()).toBe(true);
    expect(await ensureTreeFolder(dir, 'a/b')).toBe(join(dir, 'a/b'));
    expect(await ensureTreeFolder(dir, '.')).toBe(dir);
  });

  it('refuses a link at any depth, and a file where a folder goes', async () => {
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(elsewhere);
    await mkdir(join(dir, 'out/a'), { recursive: true });
    await symlink(elsewhere, join(dir, 'out/a/link'));
    await writeFile(join(dir, 'out/file'), 'x');
    await expect(ensureTreeFolder(join(dir, 'out'), 'a/link/deeper')).rejects.toThrow(/a\/link is a symbolic link; refusing to write through it/);
    await expect(ensureTreeFolder(join(dir, 'out'), 'a/link')).rejects.toBeInstanceOf(StorageError);
    await expect(ensureTreeFolder(join(dir, 'out'), 'file/x')).rejects.toThrow(/exists and is not a folder/);
    await expect(stat(join(elsewhere, 'deeper'))).rejects.toThrow();
  });
});
