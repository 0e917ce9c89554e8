import { describe, expect, it } from 'vitest';
import {
  PACK_MAX_BYTES, PACK_MAX_MEMBERS, PACK_MEMBER_MAX_BYTES, isPackUrl, memberOffsets, memberSpans, packIdOf, packProblem, packTaskInfo, packUrlOf, parsePackUrl, planPacks, type PackMember,
} from './pack.ts';

const member = (key: string, size: number, etag = `"${key}"`): PackMember => ({ key, size, etag });

describe('packs of small objects', () => {
  it('groups small objects in key order, the same on every host, and leaves big ones alone', () => {
    const objects = [member('b', 10), member('big', PACK_MEMBER_MAX_BYTES + 1), member('a', 5), member('c', 7)];
    const { packs, singles } = planPacks(objects);
    expect(packs.map((pack) => pack.map((m) => m.key))).toEqual([['a', 'b', 'c']]);
    expect(singles.map((m) => m.key)).toEqual(['big']);
    expect(planPacks([...objects].reverse()).packs).toEqual(packs);
  });

  it('cuts packs at the member and byte limits; a lone leftover is pulled on its own', () => {
    const many = Array.from({ length: PACK_MAX_MEMBERS + 1 }, (_, i) => member(`k${String(i).padStart(3, '0')}`, 1));
    const { packs, singles } = planPacks(many);
    expect(packs.map((pack) => pack.length)).toEqual([PACK_MAX_MEMBERS]);
    expect(singles.map((m) => m.key)).toEqual(['k064']);
    const heavy = Array.from({ length: 10 }, (_, i) => member(`h${i}`, PACK_MEMBER_MAX_BYTES));
    for (const pack of planPacks(heavy).packs) expect(pack.reduce((sum, m) => sum + m.size, 0)).toBeLessThanOrEqual(PACK_MAX_BYTES);
  });

  it('names a pack by its bucket and every member key, ETag and size', () => {
    const members = [member('a', 1), member('b', 2)];
    const id = packIdOf('bucket', members);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(packIdOf('bucket', [member('a', 1), member('b', 2, '"other"')])).not.toBe(id);
    expect(packIdOf('bucket', [member('a', 1), member('b', 3)])).not.toBe(id);
    expect(packIdOf('other-bucket', members)).not.toBe(id);
    // A key may not bleed into the next field: the key is quoted.
    expect(packIdOf('bucket', [member('a\t"x"', 1), member('b', 2)])).not.toBe(packIdOf('bucket', [member('a', 1), member('b', 2)]));
    const url = packUrlOf('bucket', id);
    expect(isPackUrl(url)).toBe(true);
    expect(parsePackUrl(url)).toEqual({ bucket: 'bucket', id });
    expect(() => parsePackUrl('mayfly-pack://bucket/xyz')).toThrow(/pack URL/);
    expect(isPackUrl('s3://bucket/key')).toBe(false);
  });

  it('refuses what is no canonical pack', () => {
    expect(packProblem([member('a', 1)])).toMatch(/2 to/);
    expect(packProblem([member('b', 1), member('a', 1)])).toMatch(/ascending/);
    expect(packProblem([member('a', 1), member('a', 1)])).toMatch(/ascending/);
    expect(packProblem([member('a', PACK_MEMBER_MAX_BYTES + 1), member('b', 1)])).toMatch(/too big/);
    expect(packProblem([member('a', 1), member('b', 1)])).toBeUndefined();
    expect(() => packTaskInfo('bucket', [member('a', 1)])).toThrow();
  });

  it('lays members end to end: pieces over the concatenation, spans per member', () => {
    const members = [member('a', 3), member('b', 0), member('c', 5), member('d', 2)];
    expect(memberOffsets(members)).toEqual([0, 3, 3, 8]);
    expect(memberSpans(members, 0, 10)).toEqual([{ index: 0, start: 0, end: 3 }, { index: 2, start: 0, end: 5 }, { index: 3, start: 0, end: 2 }]);
    expect(memberSpans(members, 2, 4)).toEqual([{ index: 0, start: 2, end: 3 }, { index: 2, start: 0, end: 1 }]);
    expect(memberSpans(members, 9, 10)).toEqual([{ index: 3, start: 1, end: 2 }]);
    const info = packTaskInfo('bucket', members.filter((m) => m.size > 0));
    expect(info).toMatchObject({ size: 10, pieceCount: 1, url: packUrlOf('bucket', info.id) });
  });
});
