import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../core/errors.ts';
import { TaskFiles } from './task-files.ts';

const task = { id: 'a'.repeat(64), url: 's3://bucket/key', size: 8, pieceLength: 4, pieceCount: 2, etag: '"e"' } as unknown as ConstructorParameters<typeof TaskFiles>[0];

describe('TaskFiles', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes its state again after a write failed (a full disk is not forever)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'task-files-'));
    const files = new TaskFiles(task, dir);
    // A directory where state.json goes: the rename fails as a full disk would.
    await mkdir(join(dir, 'state.json', 'in-the-way'), { recursive: true });
    files.markVerified(0, 'd0');
    await expect(files.flush()).rejects.toBeInstanceOf(StorageError);

    await rm(join(dir, 'state.json'), { recursive: true });
    await files.flush();
    expect(existsSync(join(dir, 'state.json'))).toBe(true);
    expect(JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')).digests).toEqual({ 0: 'd0' });
  });
});
