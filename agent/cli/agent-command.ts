import { startAgent } from '../agent.ts';
import { loadAgentConfig } from '../config.ts';
import { parseArgs } from './args.ts';
import { EXIT } from './exit-codes.ts';

export const AGENT_HELP = `Usage: mayfly agent [options]

Runs the agent: serves pieces to peers, pulls for local users.

Options (each also as an environment variable):
  --scheduler URL          scheduler endpoint (MAYFLY_SCHEDULER_URL, required)
  --token TOKEN            control-plane bearer token (MAYFLY_TOKEN)
  --auth MODE              token | sigv4: sign with the host's AWS credentials (MAYFLY_AUTH, default token)
  --peer-auth MODE         required: peers must show a credential the scheduler signed (MAYFLY_PEER_AUTH, default);
                           off: serve cached pieces to anyone; for a local stack without a peer secret only
  --data-dir DIR           cache folder (MAYFLY_DATA_DIR, default ./.mayfly)
  --cluster NAME           cluster whose settings apply (MAYFLY_CLUSTER, default "default")
  --site NAME              site or availability zone (MAYFLY_SITE, default "default")
  --peer-id ID             stable id of this agent (MAYFLY_PEER_ID, default host-pid)
  --peer-host ADDR         peer server bind address (MAYFLY_PEER_HOST, default 0.0.0.0)
  --peer-port N            peer server port (MAYFLY_PEER_PORT, default 7402, 0 = any)
  --advertise ADDR         address other agents use (MAYFLY_ADVERTISE_HOST)
  --api-host ADDR          local API bind address (MAYFLY_API_HOST, default 127.0.0.1)
  --api-port N             local API port (MAYFLY_API_PORT, default 7401, 0 = any)
  --s3-port N              S3-compatible GetObject/HeadObject endpoint on --api-host (MAYFLY_S3_PORT, default 7403, 0 = any)
  --registry-port N        container registry mirror on --api-host (MAYFLY_REGISTRY_PORT, default 7405, 0 = any, off = none)
  --registry-upstream L    NAME=URL,… registries the mirror serves: NAME a registry host as containerd's ?ns= names it, or
                           _default for clients that send none (MAYFLY_REGISTRY_UPSTREAMS; an unknown ns is used over HTTPS)
                           A seed's own registry credentials for image preheats: MAYFLY_REGISTRY_CREDENTIALS=host=user:password,…
                           (environment only; ECR hosts without an entry use the host role's ecr:GetAuthorizationToken)
  --upload-concurrency N   uploads served at once (MAYFLY_UPLOAD_CONCURRENCY, default 4)
  --origin-concurrency N   ranged S3 reads in flight when this agent reads the origin (MAYFLY_ORIGIN_CONCURRENCY, default 4)
  --upload-limit RATE      upload bandwidth, e.g. 50MiB or 400Mbit (MAYFLY_UPLOAD_LIMIT, default unlimited)
  --download-limit RATE    download bandwidth (MAYFLY_DOWNLOAD_LIMIT, default unlimited)
  --cache-quota SIZE       disk cache quota, e.g. 20GiB (MAYFLY_CACHE_QUOTA, default 20GiB)
  --s3-endpoint URL        S3-compatible endpoint instead of AWS (MAYFLY_S3_ENDPOINT)
  --origin-access MODE     auto: read S3 through the scheduler's presigned URLs when it issues them;
                           direct: always with this host's AWS credentials (MAYFLY_ORIGIN_ACCESS)
  --seed                   act as a seed agent (MAYFLY_SEED=true)
  --log-level LEVEL        debug | info | warn | error
  --open-files N           cache data files kept open at once, shared by all cached tasks (MAYFLY_OPEN_FILES, default 64)
  --progress-deadline S    seconds a pull may go without a verified piece before it drops idle parents and
                           re-announces; half as long again and it reads the origin (MAYFLY_PROGRESS_DEADLINE, default 30)
  --upload-floor RATE      an upload slower than this over --upload-stall seconds is cut (MAYFLY_UPLOAD_FLOOR, default 32KiB)
  --upload-stall S         seconds an upload may stay below --upload-floor (MAYFLY_UPLOAD_STALL, default 10)
  --peer-max-connections N peer-port connections at once; more are refused (MAYFLY_PEER_MAX_CONNECTIONS,
                           default half the descriptor limit, at most 4096)
  --peer-max-connections-per-addr N
                           peer-port connections from one address (MAYFLY_PEER_MAX_CONNECTIONS_PER_ADDR, default 256)
  -h, --help               this help`;

export async function agentCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { positionals, flags } = parseArgs(argv, {
    strings: ['scheduler', 'token', 'auth', 'peer-auth', 'data-dir', 'cluster', 'site', 'peer-id', 'peer-host', 'peer-port', 'advertise', 'api-host', 'api-port', 's3-port', 'registry-port', 'registry-upstream', 'upload-concurrency', 'origin-concurrency', 'upload-limit', 'download-limit', 'cache-quota', 's3-endpoint', 'origin-access', 'log-level', 'progress-deadline', 'upload-floor', 'upload-stall', 'peer-max-connections', 'peer-max-connections-per-addr', 'open-files'],
    booleans: ['seed', 'help'],
    aliases: { h: 'help' },
  });
  if (flags.help) {
    process.stdout.write(`${AGENT_HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 0) {
    process.stderr.write(`mayfly agent: unexpected argument ${positionals[0]}\n`);
    return EXIT.usage;
  }
  const agent = await startAgent(loadAgentConfig(flags, env));
  // One machine-readable line on stdout so supervisors and tests learn the ports.
  process.stdout.write(`${JSON.stringify({ ready: true, peerId: agent.peerId, peerPort: agent.peerPort, apiPort: agent.apiPort, s3Port: agent.s3Port, registryPort: agent.registryPort })}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await agent.stop();
  return EXIT.ok;
}
