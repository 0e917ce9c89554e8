import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskFiles, type TaskState } from '../cache/task-files.ts';
import { ChildView } from './child-view.ts';

const task = { id: 'a'.repeat(64), url: 's3://bucket/key', size: 40, etag: '"e"', pieceLength: 10, pieceCount: 4 };
const dirs: string[] = [];

async function freshFiles(): Promise<TaskFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'child-view-'));
  dirs.push(dir);
  const files = new TaskFiles(task, dir);
  await files.prepare();
  return files;
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true, maxRetries: 5 }); // a write still landing can refill it once
});

describe('ChildView', () => {
  it('hides a piece read from the origin until its digest is published, and tells watchers', async () => {
    const files = await freshFiles();
    const view = new ChildView(files);
    let news = 0;
    view.onNews(() => news++);
    files.markVerified(0, 'd0');
    expect(news).toBe(1);
    view.readFromOrigin(1);
    files.markVerified(1, 'd1');
    expect(news).toBe(1);
    expect(view.offers(1)).toBe(false);
    expect(view.advertised().indexes()).toEqual([0]);
    view.published(1);
    expect(news).toBe(2);
    expect(view.advertised().indexes()).toEqual([0, 1]);
  });

  it('keeps unpublished pieces in state.json across a restart', async () => {
    const files = await freshFiles();
    const view = new ChildView(files);
    view.readFromOrigin(2);
    files.markVerified(2, 'd2');
    await files.flush();
    const state = JSON.parse(await readFile(join(files.dir, 'state.json'), 'utf8')) as TaskState;
    expect(state.unpublished).toEqual([2]);
    const restarted = new ChildView(new TaskFiles(task, files.dir, state));
    expect(restarted.offers(2)).toBe(false);
    expect(restarted.advertised().count).toBe(0);
  });

  it('sends a piece to one child at a time while downloading', async () => {
    const files = await freshFiles();
    const view = new ChildView(files);
    files.markVerified(3, 'd3');
    expect(view.startUpload(3)).toBe(true);
    expect(view.startUpload(3)).toBe(false);
    expect(view.advertised().has(3)).toBe(false);
    view.endUpload(3);
    expect(view.advertised().has(3)).toBe(true);
  });

  it('ends watches when the task closes', async () => {
    const files = await freshFiles();
    const view = new ChildView(files);
    let news = 0;
    view.onNews(() => news++);
    await files.close();
    expect(news).toBe(1);
    expect(view.closed).toBe(true);
  });
});
