import { mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Plugin } from 'esbuild';

/**
 * What `npm run build` and the CDK constructs bundle, and how. One definition, so the
 * file a test loads from dist/ is built exactly like the one `cdk deploy` uploads.
 */

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export type BundleName = 'scheduler' | 'manager' | 'digest' | 'agent';

export interface BundleSpec {
  readonly entry: string;
  /** File name inside the output folder. */
  readonly outfile: string;
  readonly target: string;
  readonly sourcemap: boolean;
  readonly shebang: boolean;
  /** Runs in Lambda: credentials come from the environment only. */
  readonly lambda: boolean;
}

/**
 * Lambda bundles are ESM `index.mjs` (handler `index.handler`), as NodejsFunction names
 * them. The agent is one file that runs with `node mayfly.mjs agent …` on Node 20+.
 */
export const BUNDLES: Readonly<Record<BundleName, BundleSpec>> = {
  scheduler: { entry: 'lambdas/scheduler/handler.ts', outfile: 'index.mjs', target: 'node22', sourcemap: true, shebang: false, lambda: true },
  manager: { entry: 'lambdas/manager/handler.ts', outfile: 'index.mjs', target: 'node22', sourcemap: true, shebang: false, lambda: true },
  digest: { entry: 'lambdas/digest/handler.ts', outfile: 'index.mjs', target: 'node22', sourcemap: true, shebang: false, lambda: true },
  agent: { entry: 'agent/cli/main.ts', outfile: 'mayfly.mjs', target: 'node20', sourcemap: false, shebang: true, lambda: false },
};

/** Bundled CommonJS dependencies still call require() for Node built-ins; ESM has none. */
const REQUIRE_SHIM = "import { createRequire as __mayflyCreateRequire } from 'node:module'; const require = __mayflyCreateRequire(import.meta.url);";

/**
 * zod's classic API exports every message locale as a namespace (about 250 KB minified,
 * a quarter of a Lambda bundle). Mayfly only speaks English, so the locale index keeps `en`.
 */
const englishOnlyZod: Plugin = {
  name: 'mayfly-zod-english-only',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /[\\/]node_modules[\\/]zod[\\/].*[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";\n',
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

export function esbuildOptions(name: BundleName, outdir: string): BuildOptions {
  const spec = BUNDLES[name];
  return {
    absWorkingDir: REPO_ROOT,
    entryPoints: [join(REPO_ROOT, spec.entry)],
    outfile: join(outdir, spec.outfile),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: spec.target,
    // Prefer packages' ES builds: the AWS SDK's tree-shake far better than its CJS ones.
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: spec.sourcemap,
    // Stack traces need file:line mappings, not the sources: a map without them is a
    // third the size and --enable-source-maps parses it at every cold start.
    sourcesContent: false,
    // The AWS SDK is bundled, not taken from the Lambda runtime: versions stay pinned by
    // the lockfile and the bundle stays under the 1 MB target (see docs/BENCHMARKS.md).
    external: [],
    banner: { js: `${spec.shebang ? '#!/usr/bin/env node\n' : ''}${REQUIRE_SHIM}` },
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    plugins: [englishOnlyZod],
    // Lambdas get credentials from the environment only; the agent keeps the full chain (instance roles).
    alias: spec.lambda ? { '@aws-sdk/credential-provider-node': join(REPO_ROOT, 'lambdas/shared/lambda-credentials.ts') } : {},
  };
}

export interface BuiltBundle {
  readonly name: BundleName;
  readonly file: string;
  readonly bytes: number;
}

/** Builds one bundle into `outdir` and reports the main file's size. */
export async function buildBundle(name: BundleName, outdir: string): Promise<BuiltBundle> {
  await mkdir(outdir, { recursive: true });
  const options = esbuildOptions(name, outdir);
  await build(options);
  const file = options.outfile!;
  return { name, file, bytes: (await stat(file)).size };
}

/** dist/ layout: one folder per Lambda (what is zipped and uploaded), the agent at the top. */
export function distFolder(name: BundleName, dist = join(REPO_ROOT, 'dist')): string {
  return name === 'agent' ? dist : join(dist, name);
}
