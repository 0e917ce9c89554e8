import { createLogger, type Logger, type LogLevel } from '../core/log.ts';

/** Agent logs: one JSON object per line on stderr, so stdout stays free for the CLI. */
export function createAgentLogger(fields: Record<string, unknown>, level: LogLevel = 'info'): Logger {
  return createLogger({ sink: (line) => process.stderr.write(`${line}\n`), level, fields: { service: 'agent', ...fields } });
}
