/**
 * Which agent program the benchmarks run. `bundle` (default) is what hosts
 * install: the single esbuild file `npm run build` makes (built here into the
 * run's temp folder, so the bench never touches dist/). `source` runs
 * agent/bin/mayfly.mjs, which compiles TypeScript at start-up with tsx and
 * carries about 35 MB more RSS.
 */
import { join } from 'node:path';
import { buildBundle } from '../scripts/bundles.ts';
import { MAYFLY_BIN } from './swarm-phase.ts';

export type AgentKind = 'bundle' | 'source';

export function parseAgentKind(value: string | undefined): AgentKind {
  if (value === undefined || value === 'bundle') return 'bundle';
  if (value === 'source') return 'source';
  throw new Error(`--agent must be bundle or source, got ${JSON.stringify(value)}`);
}

export async function agentBinary(kind: AgentKind, workDir: string): Promise<string> {
  if (kind === 'source') return MAYFLY_BIN;
  const built = await buildBundle('agent', join(workDir, 'agent-bundle'));
  return built.file;
}
