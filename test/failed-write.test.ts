import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStack } from '../local/local-stack.ts';
import { pullThrough, sha256File } from '../local/swarm-pull.ts';
import { followPull } from '../agent/cli/pull-progress.ts';

const MiB = 1024 * 1024;

/** Mounts a tmpfs of `size` at `dir` (root only: the test says so instead of skipping). */
function mountTmpfs(dir: string, size: string): void {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`this test needs to mount a small tmpfs as the agent's cache (run as root, with CAP_SYS_ADMIN): ${(error as { stderr?: Buffer }).stderr?.toString() ?? error}`);
  }
}

/** Fills the file system of `dir` to the last byte with one file; returns its path. */
async function fillDisk(dir: string): Promise<string> {
  const path = join(dir, 'filler');
  const chunk = Buffer.alloc(64 * 1024, 1);
  const { open } = await import('node:fs/promises');
  const handle = await open(path, 'w');
  try {
    for (;;) await handle.write(chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
  // Whatever a smaller write can still take.
  await writeFile(join(dir, 'filler-tail'), Buffer.alloc(4096)).catch(() => {});
  return path;
}

/** A failed write is not forever: after a full disk, the next pull of the task resumes or starts over. */
describe('failed write', () => {
  let stack: LocalStack;
  let mounted: string | undefined;

  beforeAll(async () => {
    stack = await LocalStack.start();
  });
  afterAll(async () => {
    await stack?.stop().catch(() => {});
    if (mounted) execFileSync('umount', ['-l', mounted]);
  });

  it('pulls the task again once space is back after a full disk failed it', { timeout: 120_000 }, async () => {
    const name = 'full-disk';
    const dataDir = join(stack.root, 'agents', name);
    await mkdir(dataDir, { recursive: true });
    mountTmpfs(dataDir, '64m');
    mounted = dataDir;
    const artifact = await stack.putArtifact('full/disk.bin', 12 * MiB, 'full-disk');
    const agent = await stack.startAgent(name);

    // The disk fills up (another tenant, a log): the pull fails, saying why.
    const filler = await fillDisk(dataDir);
    const failed = await followPull(agent.apiUrl, { url: artifact.url }, () => {}, AbortSignal.timeout(60_000));
    expect(failed?.type).toBe('error');
    expect(failed?.message ?? '').toMatch(/disk full/);

    // Space is back: the next pull of the same task must work.
    await rm(filler);
    await rm(join(dataDir, 'filler-tail'), { force: true });
    const output = join(stack.root, 'full-disk.bin');
    await pullThrough(agent, artifact.url, output);
    expect(await sha256File(output)).toBe(artifact.sha256);
  });
});
