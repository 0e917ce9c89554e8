import { parseArgs } from 'node:util';
import type { Hono } from 'hono';
import { createLogger, type Logger, type LogLevel } from '../../core/log.ts';
import { serveApp } from './node-server.ts';

/** One setting of a Node server command: a flag, and the environment variable it stands for. */
export interface ServerSetting {
  /** `table` for `--table`. */
  readonly flag: string;
  readonly env: string;
  /** Placeholder shown in the help (`URL`, `N`); absent for a switch. */
  readonly value?: string;
  readonly help: string;
}

/** Settings every control-plane server shares: where its state lives, where it listens, what it prints. */
export const COMMON_SETTINGS: readonly ServerSetting[] = [
  { flag: 'table', env: 'MAYFLY_TABLE', value: 'NAME', help: 'DynamoDB table (required)' },
  { flag: 'create-table', env: 'MAYFLY_CREATE_TABLE', help: 'create the table (and its TTL) if it does not exist' },
  { flag: 'dynamodb-endpoint', env: 'MAYFLY_DYNAMODB_ENDPOINT', value: 'URL', help: 'DynamoDB-compatible endpoint (default: AWS in --region)' },
  { flag: 's3-endpoint', env: 'MAYFLY_S3_ENDPOINT', value: 'URL', help: 'S3-compatible endpoint, path style (default: AWS in --region)' },
  { flag: 'region', env: 'AWS_REGION', value: 'NAME', help: 'AWS region (default us-east-1); credentials come from the usual AWS chain' },
  { flag: 'host', env: 'HOST', value: 'ADDR', help: 'listen address (default 127.0.0.1)' },
  { flag: 'port', env: 'PORT', value: 'N', help: 'listen port (0 = any free port)' },
  { flag: 'token', env: 'MAYFLY_TOKEN', value: 'TOKEN', help: "the operator's bearer token (prefer the variable: flags show in ps)" },
  { flag: 'heartbeat-interval-ms', env: 'MAYFLY_HEARTBEAT_INTERVAL_MS', value: 'N', help: 'how often agents heartbeat (default 5000)' },
  { flag: 'log-level', env: 'MAYFLY_LOG_LEVEL', value: 'LEVEL', help: 'debug | info | warn | error (default info)' },
  { flag: 'metrics', env: 'MAYFLY_METRICS', help: 'print CloudWatch embedded-metric lines on stdout (default: none)' },
];

export interface ServerCommand {
  /** `scheduler` or `manager`. */
  readonly name: string;
  readonly summary: string;
  readonly defaultPort: number;
  /** Settings of this server besides COMMON_SETTINGS. */
  readonly settings: readonly ServerSetting[];
  /**
   * Builds the app from the environment (flags already folded in). `metricsSink` is
   * undefined unless --metrics was given. Errors: a message for the operator (exit 2).
   */
  readonly build: (env: NodeJS.ProcessEnv, log: Logger, metricsSink: ((line: string) => void) | undefined) => Promise<{ app: Hono; ensureTable(): Promise<void> }>;
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export function serverHelp(command: ServerCommand): string {
  const settings = [...COMMON_SETTINGS, ...command.settings];
  const rows = settings.map((s) => {
    const left = `  --${s.flag}${s.value ? ` ${s.value}` : ''}`;
    const port = s.flag === 'port' ? ` (default ${command.defaultPort})` : '';
    return `${left.padEnd(34)}${s.help}${port} (${s.env}${s.value ? '' : '=true'})`;
  });
  return [
    `Usage: mayfly ${command.name} [options]`,
    '',
    command.summary,
    '',
    'Options (each also as the environment variable named; a flag wins over its variable):',
    ...rows,
    `  ${'-h, --help'.padEnd(32)}this help`,
  ].join('\n');
}

/** Flags → the environment variables they stand for. Error (TypeError from node:util) on an unknown flag or a missing value. */
export function settingsFromArgs(argv: readonly string[], settings: readonly ServerSetting[]): { help: boolean; env: Record<string, string> } {
  const options = Object.fromEntries([
    ...settings.map((s) => [s.flag, { type: s.value ? ('string' as const) : ('boolean' as const) }]),
    ['help', { type: 'boolean' as const, short: 'h' }],
  ]);
  const parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const positionals = parsed.positionals;
  if (positionals.length) throw new TypeError(`unexpected argument ${positionals[0]}`);
  const env: Record<string, string> = {};
  for (const s of settings) {
    const value = values[s.flag];
    if (value !== undefined) env[s.env] = String(value);
  }
  return { help: values.help === true, env };
}

/**
 * `mayfly scheduler|manager`: reads flags and environment, optionally creates the table,
 * serves the app and prints one ready line on stdout (`{"ready":true,"service","url"}`);
 * stops on SIGINT/SIGTERM. Returns the exit code (0, or 2 for bad usage or settings).
 */
export async function runServerCommand(command: ServerCommand, argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const settings = [...COMMON_SETTINGS, ...command.settings];
  let parsed: ReturnType<typeof settingsFromArgs>;
  try {
    parsed = settingsFromArgs(argv, settings);
  } catch (error) {
    process.stderr.write(`mayfly ${command.name}: ${(error as Error).message}\nRun 'mayfly ${command.name} --help' for usage.\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(`${serverHelp(command)}\n`);
    return 0;
  }
  // The AWS SDK reads AWS_REGION (and credentials) from the process environment: fold the flags in.
  Object.assign(env, parsed.env);
  if (env !== process.env) Object.assign(process.env, parsed.env);
  const level = (env.MAYFLY_LOG_LEVEL || 'info') as LogLevel;
  const port = Number(env.PORT || command.defaultPort);
  const problem = !LEVELS.includes(level)
    ? `--log-level must be one of ${LEVELS.join(', ')}`
    : !Number.isInteger(port) || port < 0 || port > 65_535
      ? `--port must be a port number, not ${env.PORT}`
      : !env.MAYFLY_TABLE
        ? '--table (MAYFLY_TABLE) is required'
        : undefined;
  if (problem) {
    process.stderr.write(`mayfly ${command.name}: ${problem}\n`);
    return 2;
  }
  const log = createLogger({ sink: (line) => process.stdout.write(`${line}\n`), level, fields: { service: command.name } });
  const metricsSink = env.MAYFLY_METRICS === 'true' ? (line: string) => process.stdout.write(`${line}\n`) : undefined;
  let built: Awaited<ReturnType<ServerCommand['build']>>;
  try {
    built = await command.build(env, log, metricsSink);
  } catch (error) {
    process.stderr.write(`mayfly ${command.name}: ${(error as Error).message}\n`);
    return 2;
  }
  if (env.MAYFLY_CREATE_TABLE === 'true') {
    await built.ensureTable();
    log.info('table ready', { table: env.MAYFLY_TABLE });
  }
  const server = await serveApp(built.app, { port, hostname: env.HOST || '127.0.0.1' });
  process.stdout.write(`${JSON.stringify({ ready: true, service: command.name, msg: `${command.name} listening`, url: server.url })}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
  return 0;
}
