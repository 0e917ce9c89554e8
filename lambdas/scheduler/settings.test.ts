import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../core/errors.ts';
import { DEFAULT_SCHEDULER_SETTINGS, settingsFor } from './settings.ts';

const clusters = { get: async (name: string) => (name === 'blue' ? { allowedOrigins: ['bucket/blue/'] } : undefined) };

describe('settingsFor', () => {
  it("applies an existing cluster's settings, and the defaults to the default cluster", async () => {
    expect((await settingsFor(DEFAULT_SCHEDULER_SETTINGS, clusters, 'blue')).allowedOrigins).toEqual(['bucket/blue/']);
    expect(await settingsFor(DEFAULT_SCHEDULER_SETTINGS, clusters, 'default')).toEqual(DEFAULT_SCHEDULER_SETTINGS);
  });

  it('refuses a cluster nobody created, unless a deployment-wide allowlist applies to it', async () => {
    await expect(settingsFor(DEFAULT_SCHEDULER_SETTINGS, clusters, 'ghost')).rejects.toBeInstanceOf(NotFoundError);
    const deployment = { ...DEFAULT_SCHEDULER_SETTINGS, allowedOrigins: ['bucket/shared/'] };
    expect((await settingsFor(deployment, clusters, 'ghost')).allowedOrigins).toEqual(['bucket/shared/']);
  });
});
