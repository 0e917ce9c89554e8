import { describe, expect, it } from 'vitest';
import { globToRegExp, planTree, unsafePathReason } from './tree-plan.ts';

const object = (key: string, size = 1) => ({ key, size, etag: '"e"', lastModified: '2026-01-01T00:00:00.000Z' });

describe('planTree', () => {
  it('places each key under DIR less the prefix', () => {
    const plan = planTree([object('m/config.json'), object('m/a/b/c.bin')], 'm/');
    expect(plan.items.map((item) => item.path)).toEqual(['config.json', 'a/b/c.bin']);
    expect(plan.refused).toEqual([]);
  });

  it('refuses keys that would land outside DIR or that no filesystem holds', () => {
    const plan = planTree([object('m/../etc/passwd'), object('m//abs'), object('m/a/./b'), object(`m/${'x'.repeat(256)}`), object('m/ok'), object('m/a\\b')], 'm/');
    expect(plan.items.map((item) => item.path)).toEqual(['ok']);
    expect(plan.refused.map((entry) => entry.reason)).toEqual([
      expect.stringContaining('".."'),
      expect.stringContaining('leading "/"'),
      expect.stringContaining('"." or empty'),
      expect.stringContaining('longer than 255 bytes'),
      expect.stringContaining('backslash'),
    ]);
  });

  it('refuses a key that is also a folder of another key', () => {
    const plan = planTree([object('m/a'), object('m/a/b')], 'm/');
    expect(plan.items.map((item) => item.path)).toEqual(['a']);
    expect(plan.refused).toEqual([{ key: 'm/a/b', reason: '"a" is both a file and a folder' }]);
  });

  it('filters with include and exclude globs as the aws CLI reads them', () => {
    const objects = [object('m/config.json'), object('m/shards/1.safetensors'), object('m/shards/2.safetensors'), object('m/README.md')];
    expect(planTree(objects, 'm/', { include: ['*.safetensors'] }).items.map((item) => item.path)).toEqual(['shards/1.safetensors', 'shards/2.safetensors']);
    expect(planTree(objects, 'm/', { exclude: ['shards/*', '*.md'] }).items.map((item) => item.path)).toEqual(['config.json']);
    expect(globToRegExp('file?.txt').test('file1.txt')).toBe(true);
    expect(globToRegExp('a+b(c).txt').test('a+b(c).txt')).toBe(true);
  });

  it('refuses the names of its own state and temp files', () => {
    expect(unsafePathReason('.mayfly-tree.json')).toMatch(/state file/);
    expect(unsafePathReason('.mayfly-tree.json.123-abcdef01.tmp')).toMatch(/state file/);
    expect(unsafePathReason('a/.x.bin.mayfly-42-0badf00d.tmp')).toMatch(/temp file/);
    expect(unsafePathReason('a/.mayfly-tree.json')).toBeUndefined();
    expect(unsafePathReason('a/.x.bin.mayfly-tmp')).toBeUndefined();
  });

  it('measures path limits in bytes, with DIR', () => {
    expect(unsafePathReason('ü'.repeat(128))).toMatch(/255 bytes/);
    expect(unsafePathReason('a/b', 4093)).toMatch(/4095 bytes/);
    expect(unsafePathReason('a/b', 10)).toBeUndefined();
  });
});
