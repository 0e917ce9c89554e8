import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, BundlingOutput, DockerImage, type BundlingOptions } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/**
 * Bundles Mayfly's own code with the repository's esbuild setup (scripts/bundles.ts) on
 * this machine: no Docker, no network. The Lambda code is the same file `npm run build`
 * writes to dist/ and test/lambda-bundle.test.ts runs against the local servers.
 */

export type MayflyBundle = 'scheduler' | 'manager' | 'digest' | 'agent';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD_SCRIPT = join(REPO_ROOT, 'scripts', 'build.ts');

/** Source folder of each bundle, used only for asset cache keys (hashes come from the output). */
const SOURCE_DIR: Readonly<Record<MayflyBundle, string>> = {
  scheduler: 'lambdas/scheduler',
  manager: 'lambdas/manager',
  digest: 'lambdas/digest',
  agent: 'agent/cli',
};

export class BundlingError extends Error {
  constructor(bundle: MayflyBundle, detail: string) {
    super(`bundling the Mayfly ${bundle} failed: ${detail}`);
    this.name = 'BundlingError';
  }
}

// All bundles are built by one process, once per synth: starting Node, tsx and esbuild
// costs more than bundling, and an app asks for several assets.
let builtRoot: string | undefined;

/** A temp folder removed when this process exits; synthesis has copied it into cdk.out by then. */
export function scratchFolder(prefix: string): string {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
  return folder;
}

/** Returns the folder holding `bundle`, building every bundle on first use. */
export function buildBundleOnce(bundle: MayflyBundle): string {
  if (!builtRoot) {
    const outdir = scratchFolder('mayfly-bundles-');
    const result = spawnSync(process.execPath, ['--import', 'tsx', BUILD_SCRIPT, '--outdir', outdir], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (result.error) throw new BundlingError(bundle, result.error.message);
    if (result.status !== 0) throw new BundlingError(bundle, result.stderr || `exit code ${result.status}`);
    builtRoot = outdir;
  }
  return join(builtRoot, bundle);
}

/**
 * Asset bundling that always runs locally. CDK's type requires an image; it is never
 * pulled because the local step either succeeds or throws.
 */
export function localBundling(bundle: MayflyBundle, outputType: BundlingOutput = BundlingOutput.NOT_ARCHIVED): BundlingOptions {
  return {
    image: DockerImage.fromRegistry('mayfly-local-bundling-only'),
    outputType,
    local: {
      tryBundle(outputDir: string): boolean {
        cpSync(buildBundleOnce(bundle), outputDir, { recursive: true });
        return true;
      },
    },
  };
}

/** Asset options for one bundle: local bundling, hashed by what was built. */
export function bundleAssetOptions(bundle: MayflyBundle, outputType?: BundlingOutput) {
  return { path: join(REPO_ROOT, SOURCE_DIR[bundle]), assetHashType: AssetHashType.OUTPUT, bundling: localBundling(bundle, outputType) };
}

/** Lambda code for the scheduler, manager or digest function: `index.mjs` + source map, handler `index.handler`. */
export function lambdaBundleCode(bundle: 'scheduler' | 'manager' | 'digest'): lambda.Code {
  const { path, ...options } = bundleAssetOptions(bundle);
  return lambda.Code.fromAsset(path, options);
}

/** Hex sha256 of the agent bundle file (`mayfly.mjs`), building it if needed. */
export function agentBundleSha256(): string {
  return createHash('sha256').update(readFileSync(join(buildBundleOnce('agent'), 'mayfly.mjs'))).digest('hex');
}
