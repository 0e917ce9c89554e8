// Runs before `npm start` and `npm test`: on a fresh clone, install the pinned
// dependencies first so the README's two commands work with only Node and npm.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

if (!existsSync(new URL('../node_modules/.package-lock.json', import.meta.url))) {
  console.error('mayfly: first run on this clone: installing the pinned dependencies with npm ci (usually 1-3 minutes; later runs skip this) ...');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit', cwd: new URL('..', import.meta.url) });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
