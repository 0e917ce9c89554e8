import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../core/errors.ts';
import { loadAgentConfig } from './config.ts';
import { DEFAULT_DOWNLOAD_LIMITS } from './task/downloader.ts';

const base = { scheduler: 'http://scheduler.example:8000', 'peer-host': '127.0.0.1' };

describe('agent config', () => {
  it('reads upload and origin concurrency from flags, which win over the environment', () => {
    const fromEnv = loadAgentConfig(base, { MAYFLY_UPLOAD_CONCURRENCY: '6', MAYFLY_ORIGIN_CONCURRENCY: '8' });
    expect(fromEnv).toMatchObject({ uploadConcurrency: 6, originConcurrency: 8 });
    const fromFlags = loadAgentConfig({ ...base, 'origin-concurrency': '2' }, { MAYFLY_ORIGIN_CONCURRENCY: '8' });
    expect(fromFlags.originConcurrency).toBe(2);
  });

  it('defaults to the downloader limits', () => {
    const config = loadAgentConfig(base, {});
    expect(config.uploadConcurrency).toBe(4);
    expect(config.originConcurrency).toBe(DEFAULT_DOWNLOAD_LIMITS.originInflight);
  });

  it.each(['0', '-1', '2.5', 'many'])('refuses --origin-concurrency %s with a reason', (value) => {
    expect(() => loadAgentConfig({ ...base, 'origin-concurrency': value }, {})).toThrow(BadRequestError);
    expect(() => loadAgentConfig({ ...base, 'origin-concurrency': value }, {})).toThrow('--origin-concurrency must be a positive integer');
  });

  it('requires peer auth unless it is explicitly off', () => {
    expect(loadAgentConfig(base, {}).peerAuth).toBe('required');
    expect(loadAgentConfig(base, { MAYFLY_PEER_AUTH: 'off' }).peerAuth).toBe('off');
    expect(loadAgentConfig({ ...base, 'peer-auth': 'required' }, { MAYFLY_PEER_AUTH: 'off' }).peerAuth).toBe('required');
    expect(() => loadAgentConfig({ ...base, 'peer-auth': 'maybe' }, {})).toThrow('--peer-auth must be required or off');
  });
});
