import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HandlePool } from './handle-pool.ts';

describe('HandlePool', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'handle-pool-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  const file = async (name: string) => {
    const path = join(dir, name);
    await writeFile(path, Buffer.alloc(8));
    return path;
  };

  it('keeps at most `limit` idle files open, least recently used out first', async () => {
    const pool = new HandlePool(2);
    const [a, b, c] = [await file('a'), await file('b'), await file('c')];
    await pool.with(a, (h) => h.write(Buffer.from('A'), 0, 1, 0));
    await pool.with(b, (h) => h.write(Buffer.from('B'), 0, 1, 0));
    await pool.with(a, (h) => h.write(Buffer.from('a'), 0, 1, 1));
    await pool.with(c, (h) => h.write(Buffer.from('C'), 0, 1, 0));
    expect(pool.size).toBe(2);
    // b was the least recently used: it went; a is still open and writable.
    await pool.with(a, (h) => h.write(Buffer.from('!'), 0, 1, 2));
    expect(pool.size).toBe(2);
    expect((await readFile(a)).subarray(0, 3).toString()).toBe('Aa!');
    await pool.closeAll();
    expect(pool.size).toBe(0);
  });

  it('never closes a handle under its user; goes over the bound only while all are busy', async () => {
    const pool = new HandlePool(1);
    const [a, b] = [await file('a'), await file('b')];
    let releaseA!: () => void;
    const holdingA = pool.with(a, (h) => new Promise<void>((resolve) => {
      releaseA = () => void h.write(Buffer.from('x'), 0, 1, 0).then(() => resolve());
    }));
    await new Promise((resolve) => setTimeout(resolve, 10));
    await pool.with(b, (h) => h.write(Buffer.from('y'), 0, 1, 0));
    expect(pool.size).toBe(1);
    releaseA();
    await holdingA;
    expect((await readFile(a))[0]).toBe('x'.charCodeAt(0));
    expect(pool.size).toBe(1);
    await pool.closeAll();
  });

  it('a file that cannot be opened fails the write and is not kept', async () => {
    const pool = new HandlePool(4);
    await expect(pool.with(join(dir, 'missing'), async () => 1)).rejects.toThrow(/ENOENT/);
    expect(pool.size).toBe(0);
  });

  it('close() of a busy file closes it when its user is done, and it is reopened on next use', async () => {
    const pool = new HandlePool(4);
    const a = await file('a');
    await pool.with(a, async (h) => {
      await pool.close(a);
      await h.write(Buffer.from('z'), 0, 1, 0);
    });
    expect(pool.size).toBe(0);
    await pool.with(a, (h) => h.write(Buffer.from('w'), 0, 1, 1));
    expect((await readFile(a)).subarray(0, 2).toString()).toBe('zw');
    await pool.closeAll();
    expect(await readdir(dir)).toEqual(['a']);
  });
});
