import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../core/errors.ts';
import { Manifest } from './manifest.ts';
import { classify } from './parent-verdict.ts';

describe('Manifest.require', () => {
  it('a scheduler that cannot be asked is a control-plane error, which says nothing about the parent', async () => {
    const manifest = new Manifest(async () => {
      throw new UnavailableError('scheduler unreachable');
    }, 10);
    const error = await manifest.require(3).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).context.controlPlane).toBe(true);
    expect(classify(error, { bitfieldAt: Date.now(), lies: 0 }, Date.now())).toEqual({ kind: 'not-parent' });
  });

  it('asks again only after a pause once a fetch failed, then has the digest', async () => {
    let calls = 0;
    const manifest = new Manifest(async () => {
      calls++;
      if (calls === 1) throw new UnavailableError('frozen');
      return { 3: 'sha256:abc' };
    }, 50);
    await expect(manifest.require(3)).rejects.toThrow(/unavailable/);
    const started = Date.now();
    expect(await manifest.require(3)).toBe('sha256:abc');
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    expect(calls).toBe(2);
  });

  it('a scheduler that answers without the digest gives undefined (the parent advertised an unvouched piece)', async () => {
    const manifest = new Manifest(async () => ({}));
    expect(await manifest.require(1)).toBeUndefined();
  });
});
