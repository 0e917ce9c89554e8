import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMayfly } from './fixtures/mayfly-cli.ts';

const env = { PATH: process.env.PATH, HOME: process.env.HOME };
const setup = async (...args: string[]) => {
  const result = await runMayfly(['setup', ...args], env);
  return { code: result.code, out: result.stdout.toString(), err: result.stderr };
};

/** `mayfly setup containerd|crio|podman` on scratch config folders: the real CLI process, real files. */
describe('mayfly setup', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'mayfly-setup-'));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('containerd: writes hosts.toml per registry with a diff, changes nothing the second time, and --undo restores the old file', async () => {
    const dir = join(root, 'certs.d');
    await mkdir(join(dir, 'registry.test'), { recursive: true });
    const old = 'server = "https://registry.test"\n[host."https://other-mirror:5000"]\n  capabilities = ["pull"]\n';
    await writeFile(join(dir, 'registry.test', 'hosts.toml'), old);
    const args = ['containerd', '--registry', 'registry.test,123456789012.dkr.ecr.us-east-1.amazonaws.com', '--config-dir', dir, '--mirror', 'http://127.0.0.1:7405'];

    const first = await setup(...args);
    expect(first.code).toBe(0);
    expect(first.out).toContain('- [host."https://other-mirror:5000"]');
    expect(first.out).toContain('+ [host."http://127.0.0.1:7405"]');
    expect(first.out).toContain('changed 2 file(s)');
    const written = await readFile(join(dir, 'registry.test', 'hosts.toml'), 'utf8');
    expect(written).toContain('server = "https://registry.test"');
    expect(written).toContain('[host."http://127.0.0.1:7405"]\n  capabilities = ["pull", "resolve"]');
    expect(await readFile(join(dir, '123456789012.dkr.ecr.us-east-1.amazonaws.com', 'hosts.toml'), 'utf8')).toContain('server = "https://123456789012.dkr.ecr.us-east-1.amazonaws.com"');

    const again = await setup(...args);
    expect(again.code).toBe(0);
    expect(again.out).toContain('nothing to change');
    expect(await readFile(join(dir, 'registry.test', 'hosts.toml'), 'utf8')).toBe(written);

    const undo = await setup(...args, '--undo');
    expect(undo.code).toBe(0);
    expect(undo.out).toContain('changed 2 file(s)');
    expect(await readFile(join(dir, 'registry.test', 'hosts.toml'), 'utf8')).toBe(old);
    expect(await readdir(join(dir, 'registry.test'))).toEqual(['hosts.toml']);
    expect(await readdir(join(dir, '123456789012.dkr.ecr.us-east-1.amazonaws.com'))).toEqual([]);
    expect((await setup(...args, '--undo')).out).toContain('nothing to change');
  });

  it('crio and podman: one registries.conf.d drop-in with a mirror per registry; --dry-run writes nothing', async () => {
    for (const runtime of ['crio', 'podman']) {
      const dir = join(root, runtime);
      const args = [runtime, '--registry', 'registry.test', '--config-dir', dir, '--mirror', 'http://127.0.0.1:7405'];
      const dry = await setup(...args, '--dry-run');
      expect(dry.code).toBe(0);
      expect(dry.out).toContain('would change 1 file(s)');
      await expect(readdir(dir)).rejects.toThrow();
      expect((await setup(...args)).code).toBe(0);
      const text = await readFile(join(dir, 'registries.conf.d', '50-mayfly-mirror.conf'), 'utf8');
      expect(text).toContain('[[registry]]\nprefix = "registry.test"\nlocation = "registry.test"');
      expect(text).toContain('[[registry.mirror]]\nlocation = "127.0.0.1:7405"\ninsecure = true');
      expect((await setup(...args)).out).toContain('nothing to change');
      expect((await setup(...args, '--undo')).code).toBe(0);
      expect(await readdir(join(dir, 'registries.conf.d'))).toEqual([]);
    }
  });

  it('bad input: a usage message and exit 2, nothing written', async () => {
    const dir = join(root, 'bad');
    for (const args of [['docker', '--registry', 'r.test'], ['containerd', '--config-dir', dir], ['containerd', '--registry', 'a/b', '--config-dir', dir], ['containerd', '--registry', 'r.test', '--mirror', 'ftp://x', '--config-dir', dir]]) {
      const result = await setup(...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.err).toMatch(/mayfly setup: /);
    }
    await expect(readdir(dir)).rejects.toThrow();
  });
});
