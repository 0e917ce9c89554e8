import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './swarm-phase.ts';

/** bench:swarm's flags (swarm.ts's header says what the phases and profiles are). */
const SWARM_OPTIONS = {
  hosts: { type: 'string', default: '16' },
  'size-mib': { type: 'string', default: '256' },
  'host-mbit': { type: 'string', default: '100' },
  'origin-mbit': { type: 'string', default: '100' },
  'inter-site-mbit': { type: 'string', default: '50' },
  mtu: { type: 'string' },
  phases: { type: 'string', default: 'mayfly,direct' },
  json: { type: 'string' },
  svg: { type: 'string', default: join(REPO_ROOT, 'docs/bench-swarm-cdf.svg') },
  'budget-s': { type: 'string', default: '570' },
  'keep-logs': { type: 'string' },
  agent: { type: 'string', default: 'bundle' },
  'agent-node-args': { type: 'string' },
  'agent-log-level': { type: 'string' },
  'infra-nice': { type: 'string' },
  realistic: { type: 'boolean', default: false },
  baseline: { type: 'string' },
  dynamo: { type: 'string', default: 'dynalite' },
  'agent-env': { type: 'string' },
  workload: { type: 'string', default: 'file' },
  'freeze-scheduler': { type: 'string' },
  /** `--workload image`: the image's size (default --size-mib); `--loopback` runs it on the local stack, no netns. */
  'image-mib': { type: 'string' },
  loopback: { type: 'boolean', default: false },
  /** `cache`: hosts pull into their agent's cache only, no user copy (the swarm without the delivery path). */
  into: { type: 'string', default: 'file' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const SWARM_USAGE =
  'Usage: npm run bench:swarm -- [--hosts 16] [--size-mib 256] [--host-mbit 100] [--origin-mbit 100] [--inter-site-mbit 50] [--mtu 9000] [--phases mayfly,direct | two-site] [--json FILE] [--svg FILE] [--agent-node-args="--cpu-prof --cpu-prof-dir=DIR"] [--agent-log-level debug --keep-logs DIR] [--agent-env MAYFLY_X=1,MAYFLY_Y=2] [--dynamo dynalite|dynamodb-local] [--infra-nice -10] [--workload file|image|tree] [--image-mib 256] [--loopback] [--freeze-scheduler SECONDS] [--realistic] [--baseline aria2] [--into file|cache]';

/** Parses `argv` (default: this process's arguments); prints the usage and exits on --help. */
export function parseSwarmArgs(argv?: string[]) {
  const { values } = parseArgs({ args: argv, options: SWARM_OPTIONS });
  if (values.help) {
    console.log(SWARM_USAGE);
    process.exit(0);
  }
  return values;
}

export type SwarmArgs = ReturnType<typeof parseSwarmArgs>;
