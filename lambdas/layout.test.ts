import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LAMBDAS = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(LAMBDAS);

/** Every import of every .ts file under lambdas/, resolved to a path from the repository root (packages kept as named). */
function imports(): { file: string; target: string }[] {
  const found: { file: string; target: string }[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        for (const match of readFileSync(path, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)) {
          const spec = match[1];
          const target = spec.startsWith('.') ? relative(ROOT, resolve(dirname(path), spec)) : spec;
          found.push({ file: relative(ROOT, path), target });
        }
      }
    }
  };
  walk(LAMBDAS);
  return found;
}

const where = (edges: { file: string; target: string }[]) => edges.map(({ file, target }) => `${file} → ${target}`);

/** One owner per piece of state: services see store interfaces (lambdas/domain/), only the wiring sees the stores. */
describe('lambdas/ import directions', () => {
  const all = imports();

  it('stores import nothing from the scheduler or the manager', () => {
    expect(where(all.filter(({ file, target }) => file.startsWith('lambdas/stores/') && /^lambdas\/(scheduler|manager)\//.test(target)))).toEqual([]);
  });

  it('the domain is interfaces and pure rules: core only, no store, service or SDK', () => {
    const outside = all.filter(({ file, target }) => file.startsWith('lambdas/domain/') && !/^(core\/|lambdas\/domain\/|node:|vitest$)/.test(target));
    expect(where(outside)).toEqual([]);
  });

  it('services reach stores only through the wiring', () => {
    const wiring = /^lambdas\/(scheduler|manager)\/wiring\.ts$/;
    const direct = all.filter(({ file, target }) => /^lambdas\/(scheduler|manager|shared)\//.test(file) && !wiring.test(file) && target.startsWith('lambdas/stores/'));
    expect(where(direct)).toEqual([]);
  });

  it('never imports the agent', () => {
    expect(where(all.filter(({ target }) => target.startsWith('agent/')))).toEqual([]);
  });
});
