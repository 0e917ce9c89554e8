import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BUNDLES, buildBundle, distFolder, type BundleName } from './bundles.ts';

/**
 * `npm run build`: the Lambda bundles and the agent into dist/.
 *   --only scheduler,manager,agent   build a subset
 *   --outdir DIR                     write DIR/<name>/ for each bundle instead of dist/
 *                                    (the CDK constructs' local bundling uses this)
 */

const { values } = parseArgs({ options: { only: { type: 'string' }, outdir: { type: 'string' } } });
const names = (values.only?.split(',').map((name) => name.trim()) ?? Object.keys(BUNDLES)) as BundleName[];
for (const name of names) {
  if (!(name in BUNDLES)) {
    console.error(`build: unknown bundle ${JSON.stringify(name)} (known: ${Object.keys(BUNDLES).join(', ')})`);
    process.exit(2);
  }
}
// esbuild builds them in parallel; one process start serves every bundle.
const built = await Promise.all(names.map((name) => buildBundle(name, values.outdir ? join(values.outdir, name) : distFolder(name))));
for (const bundle of built) {
  // stderr, so a caller that parses stdout (CDK bundling) sees nothing unexpected.
  console.error(`built ${bundle.name.padEnd(9)} ${(bundle.bytes / 1024).toFixed(0).padStart(6)} KiB  ${bundle.file}`);
}
