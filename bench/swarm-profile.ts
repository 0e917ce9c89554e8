/**
 * The swarm bench's two profiles. The default favours measuring Mayfly's own
 * logic on a shared machine: MTU 9000, S3 and the control plane at nice -10,
 * pulls through the agent's API from a long-running puller. `--realistic`
 * is a host as deployed: MTU 1500, every process at normal priority, and each
 * host's pull a `mayfly get` process whose start-up is counted.
 */
export interface SwarmProfile {
  readonly name: 'default' | 'realistic';
  readonly mtu: number;
  /** Scheduling priority of the origin and the control plane (nice, -20..19). */
  readonly infraNice: number;
  /** Hosts pull with `mayfly get` started at the go signal (bench/cli-pull.ts). */
  readonly cliStartup: boolean;
}

/** The profile from the bench's flags; an explicit --mtu or --infra-nice wins over the profile's. */
export function swarmProfile(flags: { realistic?: boolean; mtu?: string; 'infra-nice'?: string }): SwarmProfile {
  const realistic = flags.realistic === true;
  const number = (value: string | undefined, fallback: number, name: string) => {
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed)) throw new Error(`--${name} must be an integer, got ${JSON.stringify(value)}`);
    return parsed;
  };
  return {
    name: realistic ? 'realistic' : 'default',
    mtu: number(flags.mtu, realistic ? 1500 : 9000, 'mtu'),
    infraNice: number(flags['infra-nice'], realistic ? 0 : -10, 'infra-nice'),
    cliStartup: realistic,
  };
}
