import { BadRequestError } from '../../core/errors.ts';

/** The container runtimes `mayfly setup` configures. */
export type Runtime = 'containerd' | 'crio' | 'podman';
export const RUNTIMES: readonly Runtime[] = ['containerd', 'crio', 'podman'];

/** First line of every file mayfly setup writes: how an operator (and --undo) recognises it. */
export const MARK = '# Written by `mayfly setup`; `mayfly setup --undo` restores what was here before.';

export interface MirrorSetup {
  /** Registry hosts (`host[:port]`), or `_default` (containerd: every registry without its own folder). */
  readonly registries: readonly string[];
  /** The agent's mirror, e.g. `http://127.0.0.1:7405`. */
  readonly mirror: string;
  /** containerd's fallback `server` for each registry (default `https://<registry>`); ignored for `_default`. */
  readonly server?: (registry: string) => string;
}

/** One file setup writes: its path relative to the runtime's config folder, and its text. */
export interface PlannedFile {
  readonly path: string;
  readonly text: string;
}

const REGISTRY = /^(?:[A-Za-z0-9.-]{1,253}(?::\d{1,5})?|_default)$/;

/**
 * The files that make `runtime` pull through the mirror:
 * - containerd: `<registry>/hosts.toml` under its `config_path` (the mirror first, the registry as fallback);
 * - CRI-O and podman (and skopeo): one drop-in under `registries.conf.d/`, a `[[registry.mirror]]` per registry.
 *   They send no `?ns=`, so the agent serves them from its `_default` upstream.
 */
export function planMirrorFiles(runtime: Runtime, setup: MirrorSetup): PlannedFile[] {
  if (!setup.registries.length) throw new BadRequestError('name at least one registry: --registry HOST[:PORT][,HOST…]');
  for (const registry of setup.registries) {
    if (!REGISTRY.test(registry)) throw new BadRequestError(`not a registry host: ${JSON.stringify(registry)} (expected host[:port] or _default)`);
  }
  const mirror = mirrorUrl(setup.mirror);
  if (runtime === 'containerd') {
    return setup.registries.map((registry) => ({
      path: `${registry}/hosts.toml`,
      text: [
        MARK,
        ...(registry === '_default' ? [] : [`server = "${setup.server?.(registry) ?? `https://${registry}`}"`]),
        '',
        `[host."${mirror.href.replace(/\/$/, '')}"]`,
        '  capabilities = ["pull", "resolve"]',
        '',
      ].join('\n'),
    }));
  }
  const blocks = setup.registries
    .filter((registry) => registry !== '_default')
    .map((registry) => ['[[registry]]', `prefix = "${registry}"`, `location = "${registry}"`, '', '[[registry.mirror]]', `location = "${mirror.host}"`, `insecure = ${mirror.protocol === 'http:'}`, ''].join('\n'));
  if (!blocks.length) throw new BadRequestError(`${runtime} has no default mirror: name the registries (--registry HOST[:PORT])`);
  return [{ path: 'registries.conf.d/50-mayfly-mirror.conf', text: [MARK, '', ...blocks].join('\n') }];
}

function mirrorUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new BadRequestError(`--mirror must be http(s)://host:port, got ${JSON.stringify(text)}`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.username) {
    throw new BadRequestError(`--mirror must be http(s)://host:port, got ${JSON.stringify(text)}`);
  }
  return url;
}

/** A line diff for the operator: `-` lines of the old text, `+` lines of the new (common prefix and suffix shown once). */
export function lineDiff(path: string, before: string | undefined, after: string | undefined): string {
  const a = before === undefined ? [] : before.replace(/\n$/, '').split('\n');
  const b = after === undefined ? [] : after.replace(/\n$/, '').split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  return [
    `--- ${before === undefined ? '/dev/null' : path}`,
    `+++ ${after === undefined ? '/dev/null' : path}`,
    ...a.slice(0, head).map((line) => `  ${line}`),
    ...a.slice(head, a.length - tail).map((line) => `- ${line}`),
    ...b.slice(head, b.length - tail).map((line) => `+ ${line}`),
    ...a.slice(a.length - tail).map((line) => `  ${line}`),
  ].join('\n');
}
