import { lstat, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import { LocalStack } from '../local/local-stack.ts';
import { runMayfly } from './fixtures/mayfly-cli.ts';

/**
 * A local user who can write into the folder another user pulls a tree into
 * (a shared, group-writable DIR) plants symbolic links there before the pull:
 * `mayfly get -r` writes every file under DIR itself, never through a link to
 * somewhere else, and says which link it refused.
 */
describe('mayfly get -r and links planted in DIR', { timeout: 240_000 }, () => {
  let stack: LocalStack;
  let agent: AgentProcess;
  const get = (...args: string[]) => runMayfly(['get', ...args], { PATH: process.env.PATH, MAYFLY_API: agent.apiUrl });
  const put = (key: string, body: string) => stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body }));

  beforeAll(async () => {
    stack = await LocalStack.start({ schedulerSettings: { allowedOrigins: ['mayfly-demo/models/'] } });
    await put('models/t/config.json', 'the config');
    await put('models/t/ssh/authorized_keys', 'ssh-ed25519 AAAA attacker-chosen-key');
    await put('models/t/deep/a/b.txt', 'deep leaf');
    await put('models/names/.mayfly-tree.json', 'an object that happens to share the state file\'s name');
    await put('models/names/.leaf.txt.mayfly-999999-0badf00d.tmp', 'an object named like a killed pull\'s temp file');
    await put('models/names/leaf.txt', 'a leaf');
    agent = await stack.startAgent('tree-links');
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('refuses to write through a link to a folder outside DIR, and replaces a link to a file without following it', async () => {
    const dir = join(stack.root, 'shared-out');
    const victimHome = join(stack.root, 'victim-home');
    await mkdir(join(victimHome, '.ssh'), { recursive: true });
    await writeFile(join(victimHome, '.ssh', 'authorized_keys'), 'the victim\'s own key\n');
    await writeFile(join(victimHome, 'notes.txt'), 'the victim\'s notes\n');
    await mkdir(join(dir, 'deep'), { recursive: true });
    // Planted by the other user: a folder of the tree that is a link to the victim's ~/.ssh, one deeper
    // down, and a file of the tree that is a link to one of the victim's files.
    await symlink(join(victimHome, '.ssh'), join(dir, 'ssh'));
    await symlink(victimHome, join(dir, 'deep', 'a'));
    await symlink(join(victimHome, 'notes.txt'), join(dir, 'config.json'));

    const result = await get(`s3://${stack.bucket}/models/t/`, '-r', '-o', dir);
    // Nothing outside DIR was written or created.
    expect(await readFile(join(victimHome, '.ssh', 'authorized_keys'), 'utf8')).toBe('the victim\'s own key\n');
    expect(await readFile(join(victimHome, 'notes.txt'), 'utf8')).toBe('the victim\'s notes\n');
    expect((await readdir(victimHome)).sort()).toEqual(['.ssh', 'notes.txt']);
    expect(await readdir(join(victimHome, '.ssh'))).toEqual(['authorized_keys']);
    // The folders behind links are refused (local storage error, exit 7) with a reason naming the link.
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(/ssh is a symbolic link; refusing to write through it/);
    expect(result.stderr).toMatch(/deep\/a is a symbolic link; refusing to write through it/);
    // The link in place of a file is replaced by the file (rename does not follow it).
    expect((await lstat(join(dir, 'config.json'))).isFile()).toBe(true);
    expect(await readFile(join(dir, 'config.json'), 'utf8')).toBe('the config');
  });

  it('refuses keys named like its own state or temp files instead of writing another file over them', async () => {
    const dir = join(stack.root, 'names-out');
    const result = await get(`s3://${stack.bucket}/models/names/`, '-r', '-o', dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/refused s3:\/\/mayfly-demo\/models\/names\/\.mayfly-tree\.json: the name is the tree's own state file/);
    expect(result.stderr).toMatch(/refused s3:\/\/mayfly-demo\/models\/names\/\.leaf\.txt\.mayfly-999999-0badf00d\.tmp: the name is that of a pull's temp file/);
    await expect(lstat(dir)).rejects.toThrow();
    const skipped = await get(`s3://${stack.bucket}/models/names/`, '-r', '-o', dir, '--exclude', '.*');
    expect(skipped.code).toBe(0);
    expect(await readFile(join(dir, 'leaf.txt'), 'utf8')).toBe('a leaf');
  });
});
