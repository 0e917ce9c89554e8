import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { BadRequestError } from '../core/errors.ts';
import { DEFAULTS } from '../core/constants.ts';

export interface AgentConfig {
  readonly peerId: string;
  readonly site: string;
  readonly seed: boolean;
  readonly dataDir: string;
  readonly schedulerUrl: string;
  readonly token?: string;
  /** Where the peer server listens, and the address other agents are told. */
  readonly peerHost: string;
  readonly peerPort: number;
  readonly advertiseHost: string;
  /** The local API (CLI, users) listens on loopback by default. */
  readonly apiHost: string;
  readonly apiPort: number;
  readonly uploadConcurrency: number;
  readonly s3: {
    readonly endpoint?: string;
    readonly region: string;
    readonly forcePathStyle: boolean;
  };
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export const DEFAULT_API_PORT = 7401;
export const DEFAULT_PEER_PORT = 7402;

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
  const peerId = pick('peer-id', 'MAYFLY_PEER_ID') ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 40)}-${process.pid}`;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(peerId)) throw new BadRequestError('--peer-id must be 1-64 characters of A-Z a-z 0-9 . _ -');
  const concurrency = Number(pick('upload-concurrency', 'MAYFLY_UPLOAD_CONCURRENCY') ?? 16);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new BadRequestError('--upload-concurrency must be a positive integer');
  return {
    peerId,
    site: pick('site', 'MAYFLY_SITE') ?? DEFAULTS.site,
    seed: flags.seed === true || env.MAYFLY_SEED === 'true',
    dataDir: pick('data-dir', 'MAYFLY_DATA_DIR') ?? join(process.cwd(), '.mayfly'),
    schedulerUrl: schedulerUrl.replace(/\/$/, ''),
    token: pick('token', 'MAYFLY_TOKEN'),
    peerHost,
    peerPort: port('peer-port', 'MAYFLY_PEER_PORT', DEFAULT_PEER_PORT),
    advertiseHost: pick('advertise', 'MAYFLY_ADVERTISE_HOST') ?? (peerHost === '0.0.0.0' ? primaryAddress() : peerHost),
    apiHost: pick('api-host', 'MAYFLY_API_HOST') ?? '127.0.0.1',
    apiPort: port('api-port', 'MAYFLY_API_PORT', DEFAULT_API_PORT),
    uploadConcurrency: concurrency,
    s3: {
      endpoint: pick('s3-endpoint', 'MAYFLY_S3_ENDPOINT'),
      region: env.AWS_REGION ?? 'us-east-1',
      forcePathStyle: Boolean(pick('s3-endpoint', 'MAYFLY_S3_ENDPOINT')),
    },
    logLevel: (pick('log-level', 'MAYFLY_LOG_LEVEL') as AgentConfig['logLevel']) ?? 'info',
  };
}

function primaryAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return '127.0.0.1';
}
