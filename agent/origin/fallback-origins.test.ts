import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseOriginUrl } from '../../core/origin-url.ts';
import { FallbackOrigins } from './fallback-origins.ts';

describe('FallbackOrigins', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fallback-origins-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  const allowed = parseOriginUrl('http://origin.example/public/a.bin');
  const other = parseOriginUrl('http://origin.example/private/a.bin');

  it('admits S3 always (the host credentials decide) and HTTP only under a learned entry', async () => {
    const fresh = new FallbackOrigins(dir);
    await fresh.load();
    expect(fresh.admits(parseOriginUrl('s3://any-bucket/key'))).toBe(true);
    expect(fresh.admits(allowed)).toBe(false);
    await fresh.learn(['http://origin.example/public/']);
    expect(fresh.admits(allowed)).toBe(true);
    expect(fresh.admits(other)).toBe(false);
  });

  it('keeps the entries across restarts, and forgets a dropped one', async () => {
    const restarted = new FallbackOrigins(dir);
    await restarted.load();
    expect(restarted.admits(allowed)).toBe(true);
    await restarted.learn([]);
    expect(restarted.admits(allowed)).toBe(false);
    const again = new FallbackOrigins(dir);
    await again.load();
    expect(again.admits(allowed)).toBe(false);
  });

  it('treats a damaged file as no entries', async () => {
    await writeFile(join(dir, 'http-origins.json'), '{not json');
    const damaged = new FallbackOrigins(dir);
    await damaged.load();
    expect(damaged.admits(allowed)).toBe(false);
  });
});
