import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The import directions the README's Layout section promises, checked on every
 * relative import of every TypeScript file (tests included).
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Agent rooms, outermost first; each may import the rooms listed for it (and core/). */
const AGENT_ALLOWED: Readonly<Record<string, readonly string[]>> = {
  cli: ['root', 'local', 'task', 'peer', 'origin', 'control', 'cache', 'http'],
  root: ['cli', 'local', 'registry', 'task', 'peer', 'origin', 'control', 'cache', 'http'],
  local: ['task', 'peer', 'origin', 'control', 'cache', 'http'],
  registry: ['task', 'peer', 'origin', 'control', 'cache', 'http'],
  task: ['peer', 'origin', 'control', 'cache', 'http'],
  peer: ['cache', 'http'],
  origin: ['cache', 'http'],
  control: ['http'],
  cache: ['http'],
  http: [],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return /\.(ts|mjs)$/.test(name) ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specs.map((spec) => relative(ROOT, resolve(dirname(file), spec)).split(sep).join('/'));
}

function packagesOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^.'"][^'"]*)['"]/gm)].map((m) => m[1]);
}

/** `agent/task/downloader.ts` → `task`; `agent/agent.ts` → `root`; `agent/bin/…` → `bin`. */
function agentRoom(path: string): string {
  const parts = path.split('/');
  return parts.length === 2 ? 'root' : parts[1];
}

function topOf(path: string): string {
  return path.split('/')[0];
}

function isTest(path: string): boolean {
  return path.endsWith('.test.ts');
}

const files = ['agent', 'lambdas', 'core', 'cdk', 'local', 'bench'].flatMap((top) => sourceFiles(join(ROOT, top))).map((f) => relative(ROOT, f).split(sep).join('/'));

describe('layout', () => {
  it('core/ imports nothing outside core/', () => {
    const wrong = files.filter((f) => topOf(f) === 'core').flatMap((f) => importsOf(join(ROOT, f)).filter((to) => topOf(to) !== 'core').map((to) => `${f} → ${to}`));
    expect(wrong).toEqual([]);
  });

  it('agent/ and lambdas/ never import each other (but the launcher, agent/bin/, starts the lambdas\' Node servers)', () => {
    const launcherMay = (f: string, to: string) => f.startsWith('agent/bin/') && /^lambdas\/(scheduler|manager)\/server\.ts$/.test(to);
    const wrong = files
      .filter((f) => topOf(f) === 'agent' || topOf(f) === 'lambdas')
      .flatMap((f) => importsOf(join(ROOT, f)).filter((to) => ['agent', 'lambdas'].includes(topOf(to)) && topOf(to) !== topOf(f) && !launcherMay(f, to)).map((to) => `${f} → ${to}`));
    expect(wrong).toEqual([]);
  });

  it('agent/ rooms import only inward (cli → root → local → task → peer | origin | control → cache → http → core)', () => {
    const wrong: string[] = [];
    for (const file of files.filter((f) => topOf(f) === 'agent' && !isTest(f))) {
      const from = agentRoom(file);
      if (from === 'bin') continue;
      for (const to of importsOf(join(ROOT, file))) {
        if (topOf(to) !== 'agent') continue;
        const room = agentRoom(to);
        if (room === from) continue;
        if (!(AGENT_ALLOWED[from] ?? []).includes(room)) wrong.push(`${file} → ${to}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('lambdas/stores/ imports nothing from scheduler/ or manager/', () => {
    const wrong = files
      .filter((f) => f.startsWith('lambdas/stores/'))
      .flatMap((f) => importsOf(join(ROOT, f)).filter((to) => /^lambdas\/(scheduler|manager)\//.test(to)).map((to) => `${f} → ${to}`));
    expect(wrong).toEqual([]);
  });

  it('lambdas/domain/ holds interfaces and pure rules: it imports core/ and itself, no store, service or package but zod', () => {
    const wrong = files
      .filter((f) => f.startsWith('lambdas/domain/') && !isTest(f))
      .flatMap((f) => [
        ...importsOf(join(ROOT, f)).filter((to) => !/^(core|lambdas\/domain)\//.test(to)).map((to) => `${f} → ${to}`),
        ...packagesOf(join(ROOT, f)).filter((name) => name !== 'zod' && !name.startsWith('node:')).map((name) => `${f} → ${name}`),
      ]);
    expect(wrong).toEqual([]);
  });

  it('services reach stores only through the wiring (lambdas/*/wiring.ts)', () => {
    const wrong = files
      .filter((f) => /^lambdas\/(scheduler|manager|shared)\//.test(f) && !/\/wiring\.ts$/.test(f))
      .flatMap((f) => importsOf(join(ROOT, f)).filter((to) => to.startsWith('lambdas/stores/')).map((to) => `${f} → ${to}`));
    expect(wrong).toEqual([]);
  });

  it('no production file is over 300 lines', () => {
    const long = files
      .filter((f) => !isTest(f) && /\.ts$/.test(f))
      .map((f) => ({ f, lines: readFileSync(join(ROOT, f), 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > 300)
      .map(({ f, lines }) => `${f}: ${lines}`);
    expect(long).toEqual([]);
  });
});
