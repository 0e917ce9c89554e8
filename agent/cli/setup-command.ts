import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BadRequestError } from '../../core/errors.ts';
import { parseArgs } from './args.ts';
import { EXIT } from './exit-codes.ts';
import { MARK, RUNTIMES, lineDiff, planMirrorFiles, type PlannedFile, type Runtime } from './runtime-config.ts';

const HELP = `Usage: mayfly setup containerd|crio|podman --registry HOST[:PORT][,…] [options]

Points a container runtime's pulls of those registries at this host's Mayfly agent (its registry mirror),
shows the diff, and keeps what it replaces so --undo can put it back. Running it again changes nothing.

  containerd   <config-dir>/<registry>/hosts.toml (config-dir: the CRI plugin's config_path,
               default /etc/containerd/certs.d; _default covers every other registry)
  crio, podman <config-dir>/registries.conf.d/50-mayfly-mirror.conf (default config-dir /etc/containers;
               skopeo and buildah read it too); the agent serves these from its _default upstream

Options:
  --registry L      registries to mirror, comma-separated (required)
  --mirror URL      the agent's mirror (default http://127.0.0.1:7405, MAYFLY_REGISTRY_URL)
  --config-dir DIR  where the runtime reads its mirror configuration (see above)
  --server URL      containerd: the fallback when the mirror fails (default https://<registry>)
  --undo            restore the files mayfly setup replaced (and remove those it created)
  --dry-run         show the diff, write nothing`;

const DEFAULT_DIRS: Record<Runtime, string> = { containerd: '/etc/containerd/certs.d', crio: '/etc/containers', podman: '/etc/containers' };
/** Beside each file setup wrote: the file it replaced, or (empty marker) that there was none. */
const BACKUP = '.mayfly-backup';
const ABSENT = '.mayfly-absent';

export async function setupCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { strings: ['registry', 'mirror', 'config-dir', 'server'], booleans: ['undo', 'dry-run', 'help'], aliases: { h: 'help' } });
  if (flags.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  const runtime = positionals[0] as Runtime;
  if (positionals.length !== 1 || !RUNTIMES.includes(runtime)) throw new BadRequestError(`name one runtime: ${RUNTIMES.join(', ')}`);
  const registries = typeof flags.registry === 'string' ? flags.registry.split(',').map((r) => r.trim()).filter(Boolean) : [];
  const server = typeof flags.server === 'string' ? flags.server : undefined;
  const files = planMirrorFiles(runtime, {
    registries,
    mirror: (flags.mirror as string | undefined) ?? env.MAYFLY_REGISTRY_URL ?? 'http://127.0.0.1:7405',
    server: server ? () => server : undefined,
  });
  const dir = (flags['config-dir'] as string | undefined) ?? DEFAULT_DIRS[runtime];
  const dryRun = flags['dry-run'] === true;
  let changed = 0;
  for (const file of files) changed += (await (flags.undo ? undo(dir, file, dryRun) : apply(dir, file, dryRun))) ? 1 : 0;
  process.stdout.write(`${changed ? `${dryRun ? 'would change' : 'changed'} ${changed} file(s)` : 'nothing to change'}${runtime === 'containerd' && !flags.undo ? `; containerd's CRI plugin reads these only with config_path = "${dir}"` : ''}\n`);
  return EXIT.ok;
}

async function apply(dir: string, file: PlannedFile, dryRun: boolean): Promise<boolean> {
  const path = join(dir, file.path);
  const before = await readText(path);
  if (before === file.text) return false;
  process.stdout.write(`${lineDiff(path, before, file.text)}\n`);
  if (dryRun) return true;
  await mkdir(dirname(path), { recursive: true });
  // The first run keeps what was there; a later run (ours is there) keeps that first backup.
  const ours = before?.startsWith(MARK) ?? false;
  if (!ours && !(await readText(path + BACKUP)) && !(await exists(path + ABSENT))) {
    if (before === undefined) await writeFile(path + ABSENT, '');
    else await writeFile(path + BACKUP, before);
  }
  await writeAtomically(path, file.text);
  return true;
}

async function undo(dir: string, file: PlannedFile, dryRun: boolean): Promise<boolean> {
  const path = join(dir, file.path);
  const current = await readText(path);
  const backup = await readText(path + BACKUP);
  const absent = await exists(path + ABSENT);
  if (backup === undefined && !absent) return false;
  const restored = absent ? undefined : backup;
  if (current !== restored) process.stdout.write(`${lineDiff(path, current, restored)}\n`);
  if (dryRun) return true;
  if (restored === undefined) await rm(path, { force: true });
  else await writeAtomically(path, restored);
  await rm(path + BACKUP, { force: true });
  await rm(path + ABSENT, { force: true });
  return true;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await readText(path)) !== undefined;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.mayfly-${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, path);
}
