import { describe, expect, it } from 'vitest';
import { swarmProfile } from './swarm-profile.ts';

describe('swarmProfile', () => {
  it('defaults to MTU 9000 with the infrastructure at nice -10; --realistic is MTU 1500, nice 0, CLI start-up counted', () => {
    expect(swarmProfile({})).toEqual({ name: 'default', mtu: 9000, infraNice: -10, cliStartup: false });
    expect(swarmProfile({ realistic: true })).toEqual({ name: 'realistic', mtu: 1500, infraNice: 0, cliStartup: true });
  });

  it('lets an explicit --mtu or --infra-nice win, and refuses a non-integer', () => {
    expect(swarmProfile({ realistic: true, mtu: '9000', 'infra-nice': '-5' })).toMatchObject({ mtu: 9000, infraNice: -5 });
    expect(() => swarmProfile({ mtu: 'big' })).toThrow(/--mtu must be an integer/);
  });
});
