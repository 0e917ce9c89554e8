import { hostname, networkInterfaces } from 'node:os';
import { isName, toNameChars } from '../core/ids.ts';
import { join } from 'node:path';
import { BadRequestError } from '../core/errors.ts';
import { DEFAULTS, DEFAULT_PEER_PORT } from '../core/constants.ts';
import { parseByteSize } from '../core/token-bucket.ts';
import { DEFAULT_DOWNLOAD_LIMITS } from './task/downloader.ts';
import type { PeerAuthMode } from './peer/peer-auth.ts';
import { DEFAULT_OPEN_FILES } from './cache/handle-pool.ts';

export interface AgentConfig {
  readonly peerId: string;
  readonly cluster: string;
  readonly site: string;
  readonly seed: boolean;
  readonly dataDir: string;
  readonly schedulerUrl: string;
  readonly token?: string;
  /** `token`: bearer token (local stack); `sigv4`: sign with the host's AWS credentials. */
  readonly auth: AgentAuth;
  /** `required` (default): children show a scheduler-signed credential; `off`: for a local stack without a peer secret only. */
  readonly peerAuth: PeerAuthMode;
  /** Where the peer server listens, and the address other agents are told. */
  readonly peerHost: string;
  readonly peerPort: number;
  readonly advertiseHost: string;
  /** The local API (CLI, users) listens on loopback by default. */
  readonly apiHost: string;
  readonly apiPort: number;
  /** The S3-compatible read endpoint (GetObject, HeadObject) listens on apiHost too. */
  readonly s3Port: number;
  /** The container registry mirror (agent/registry/) listens on apiHost too; undefined: off. */
  readonly registryPort?: number;
  /** `NAME=URL,…` registries the mirror serves (agent/registry/registry-upstreams.ts). */
  readonly registryUpstreams?: string;
  /** `host=user:password,…` this seed's own registry credentials for image preheats (env only: MAYFLY_REGISTRY_CREDENTIALS). */
  readonly registryCredentials?: string;
  readonly uploadConcurrency: number;
  /** Ranged origin reads in flight while this agent holds the back-to-source grant. */
  readonly originConcurrency: number;
  /** Bytes per second; undefined = unlimited. */
  readonly uploadLimit?: number;
  readonly downloadLimit?: number;
  /** Disk cache quota in bytes. */
  readonly cacheQuota: number;
  readonly s3: {
    /** 'auto': presigned URLs from the scheduler when it issues them; 'direct': always this host's credentials. */
    readonly access: 'auto' | 'direct';
    readonly endpoint?: string;
    readonly region: string;
    readonly forcePathStyle: boolean;
  };
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Cache data files kept open at once (a pool shared by all cached tasks). */
  readonly openFiles: number;
  /** Seconds a pull may go without a verified piece before it re-announces (and, half as long again, reads the origin). */
  readonly progressDeadlineSeconds: number;
  /** An upload moving fewer bytes per second than this over `uploadStallSeconds` is cut. */
  readonly uploadFloorRate: number;
  readonly uploadStallSeconds: number;
  /** Peer-port connections kept at once, in total (undefined: half the descriptor limit, at most 4096) and per remote address. */
  readonly peerMaxConnections?: number;
  readonly peerMaxConnectionsPerAddr: number;
}

export const DEFAULT_API_PORT = 7401;
export const DEFAULT_S3_PORT = 7403;
export const DEFAULT_REGISTRY_PORT = 7405;
export { DEFAULT_PEER_PORT };

export type AgentAuth = 'token' | 'sigv4';

/** Flags win over MAYFLY_* environment variables, which win over defaults. */
export function loadAgentConfig(flags: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): AgentConfig {
  const pick = (flag: string, variable: string): string | undefined => {
    const value = flags[flag];
    if (typeof value === 'string') return value;
    return env[variable] || undefined;
  };
  const port = (flag: string, variable: string, fallback: number): number => {
    const raw = pick(flag, variable);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0 || value > 65535) throw new BadRequestError(`--${flag} must be a port number, got ${JSON.stringify(raw)}`);
    return value;
  };
  const schedulerUrl = pick('scheduler', 'MAYFLY_SCHEDULER_URL');
  if (!schedulerUrl) throw new BadRequestError('the scheduler URL is required: --scheduler URL or MAYFLY_SCHEDULER_URL');
  const peerHost = pick('peer-host', 'MAYFLY_PEER_HOST') ?? '0.0.0.0';
  const peerId = pick('peer-id', 'MAYFLY_PEER_ID') ?? `${toNameChars(hostname()).slice(0, 40)}-${process.pid}`;
  if (!isName(peerId)) throw new BadRequestError('--peer-id must be 1-64 characters of A-Z a-z 0-9 . _ -');
  const auth = pick('auth', 'MAYFLY_AUTH') ?? 'token';
  if (auth !== 'token' && auth !== 'sigv4') throw new BadRequestError(`--auth must be token or sigv4, got ${JSON.stringify(auth)}`);
  const count = (flag: string, envName: string, fallback: number) => {
    const value = Number(pick(flag, envName) ?? fallback);
    if (!Number.isInteger(value) || value < 1) throw new BadRequestError(`--${flag} must be a positive integer`);
    return value;
  };
  return {
    peerId,
    cluster: pick('cluster', 'MAYFLY_CLUSTER') ?? DEFAULTS.site,
    site: pick('site', 'MAYFLY_SITE') ?? DEFAULTS.site,
    seed: flags.seed === true || env.MAYFLY_SEED === 'true',
    dataDir: pick('data-dir', 'MAYFLY_DATA_DIR') ?? join(process.cwd(), '.mayfly'),
    schedulerUrl: schedulerUrl.replace(/\/$/, ''),
    token: pick('token', 'MAYFLY_TOKEN'),
    auth,
    peerAuth: peerAuthMode(pick('peer-auth', 'MAYFLY_PEER_AUTH')),
    peerHost,
    peerPort: port('peer-port', 'MAYFLY_PEER_PORT', DEFAULT_PEER_PORT),
    advertiseHost: pick('advertise', 'MAYFLY_ADVERTISE_HOST') ?? (peerHost === '0.0.0.0' ? primaryAddress() : peerHost),
    apiHost: pick('api-host', 'MAYFLY_API_HOST') ?? '127.0.0.1',
    apiPort: port('api-port', 'MAYFLY_API_PORT', DEFAULT_API_PORT),
    s3Port: port('s3-port', 'MAYFLY_S3_PORT', DEFAULT_S3_PORT),
    registryPort: pick('registry-port', 'MAYFLY_REGISTRY_PORT') === 'off' ? undefined : port('registry-port', 'MAYFLY_REGISTRY_PORT', DEFAULT_REGISTRY_PORT),
    registryUpstreams: pick('registry-upstream', 'MAYFLY_REGISTRY_UPSTREAMS'),
    registryCredentials: env.MAYFLY_REGISTRY_CREDENTIALS || undefined,
    uploadConcurrency: count('upload-concurrency', 'MAYFLY_UPLOAD_CONCURRENCY', 4),
    originConcurrency: count('origin-concurrency', 'MAYFLY_ORIGIN_CONCURRENCY', DEFAULT_DOWNLOAD_LIMITS.originInflight),
    uploadLimit: size(pick('upload-limit', 'MAYFLY_UPLOAD_LIMIT'), 'upload-limit'),
    downloadLimit: size(pick('download-limit', 'MAYFLY_DOWNLOAD_LIMIT'), 'download-limit'),
    cacheQuota: size(pick('cache-quota', 'MAYFLY_CACHE_QUOTA'), 'cache-quota') ?? 20 * 1024 ** 3,
    s3: {
      access: originAccess(pick('origin-access', 'MAYFLY_ORIGIN_ACCESS')),
      endpoint: pick('s3-endpoint', 'MAYFLY_S3_ENDPOINT'),
      region: env.AWS_REGION ?? 'us-east-1',
      forcePathStyle: Boolean(pick('s3-endpoint', 'MAYFLY_S3_ENDPOINT')),
    },
    logLevel: (pick('log-level', 'MAYFLY_LOG_LEVEL') as AgentConfig['logLevel']) ?? 'info',
    openFiles: count('open-files', 'MAYFLY_OPEN_FILES', DEFAULT_OPEN_FILES),
    progressDeadlineSeconds: count('progress-deadline', 'MAYFLY_PROGRESS_DEADLINE', 30),
    uploadFloorRate: size(pick('upload-floor', 'MAYFLY_UPLOAD_FLOOR'), 'upload-floor') ?? 32 * 1024,
    uploadStallSeconds: count('upload-stall', 'MAYFLY_UPLOAD_STALL', 10),
    peerMaxConnections: pick('peer-max-connections', 'MAYFLY_PEER_MAX_CONNECTIONS') === undefined ? undefined : count('peer-max-connections', 'MAYFLY_PEER_MAX_CONNECTIONS', 1),
    peerMaxConnectionsPerAddr: count('peer-max-connections-per-addr', 'MAYFLY_PEER_MAX_CONNECTIONS_PER_ADDR', 256),
  };
}

function peerAuthMode(raw: string | undefined): PeerAuthMode {
  if (raw === undefined || raw === 'required' || raw === 'on') return 'required';
  if (raw === 'off') return 'off';
  throw new BadRequestError(`--peer-auth must be required or off, got ${JSON.stringify(raw)}`);
}

function originAccess(raw: string | undefined): 'auto' | 'direct' {
  if (raw === undefined || raw === 'auto') return 'auto';
  if (raw === 'direct') return 'direct';
  throw new BadRequestError(`--origin-access must be auto or direct, got ${JSON.stringify(raw)}`);
}

function size(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  try {
    return parseByteSize(raw);
  } catch (error) {
    throw new BadRequestError(`--${flag}: ${(error as Error).message}`);
  }
}

function primaryAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return '127.0.0.1';
}
