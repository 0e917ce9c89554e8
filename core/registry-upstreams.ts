import { BadRequestError } from './errors.ts';

/** The upstream for clients that send no `?ns=` (skopeo, podman through registries.conf). */
export const DEFAULT_UPSTREAM = '_default';

const HOST = /^[A-Za-z0-9.-]{1,253}(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

/**
 * Which registry a mirror request is for. containerd names it in `?ns=<host[:port]>`; a
 * configured entry maps that name (or `_default`, for clients that send none) to the URL
 * the agent talks to. An `ns` with no entry is taken at its word over HTTPS, the registry
 * the runtime itself would have asked.
 */
export class RegistryUpstreams {
  private constructor(private readonly entries: ReadonlyMap<string, string>) {}

  /**
   * `name=url,name=url` (e.g. `registry.test=http://127.0.0.1:5000,_default=https://…`).
   * BadRequestError for a malformed entry.
   */
  static parse(spec: string | undefined): RegistryUpstreams {
    const entries = new Map<string, string>();
    for (const part of (spec ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
      const at = part.indexOf('=');
      const name = part.slice(0, at).trim().toLowerCase();
      const url = part.slice(at + 1).trim();
      if (at <= 0 || (name !== DEFAULT_UPSTREAM && !HOST.test(name)) || !isRegistryUrl(url)) {
        throw new BadRequestError(`--registry-upstream entries are NAME=http(s)://host[:port] (NAME a registry host or ${DEFAULT_UPSTREAM}), got ${JSON.stringify(part)}`);
      }
      entries.set(name, new URL(url).origin);
    }
    return new RegistryUpstreams(entries);
  }

  /** The upstream's origin (`http(s)://host[:port]`), or undefined when neither `ns` nor a default names one. */
  resolve(ns: string | null | undefined): string | undefined {
    if (ns === undefined || ns === null || ns === '') return this.entries.get(DEFAULT_UPSTREAM);
    const name = ns.toLowerCase();
    if (!HOST.test(name)) return undefined;
    return this.entries.get(name) ?? `https://${name}`;
  }

  /** Configured names (for the log). */
  get names(): string[] {
    return [...this.entries.keys()];
  }
}

function isRegistryUrl(text: string): boolean {
  if (!/^https?:\/\/[^/?#@\s]+\/?$/i.test(text)) return false;
  try {
    return new URL(text).hostname !== '';
  } catch {
    return false;
  }
}
