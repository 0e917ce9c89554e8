/**
 * Thin, synchronous wrappers over `ip` and `tc` for the swarm benchmark's
 * virtual network. Every namespace this module creates is named
 * `mfb<pid>-<role>` and remembered, so it can be removed on exit, on a signal
 * or on failure, and so a later run can remove what a crashed run left behind.
 * Nothing here touches the root namespace's interfaces or addresses.
 */
import { execFileSync } from 'node:child_process';

export const NS_PREFIX = 'mfb';

function run(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || (error as Error).message}`);
  }
}

export function ip(...args: string[]): string {
  return run('ip', args);
}

export function tc(...args: string[]): string {
  return run('tc', args);
}

/** Why this machine cannot run the benchmark, or undefined when it can. */
export function netnsUnsupportedReason(): string | undefined {
  if (process.platform !== 'linux') return `it needs Linux network namespaces (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'it must run as root (it creates network namespaces, veth pairs and tc qdiscs)';
  try {
    ip('netns', 'list');
    tc('-V');
  } catch (error) {
    return `iproute2 (ip, tc) is not usable: ${(error as Error).message}`;
  }
  return undefined;
}

export interface TbfOptions {
  readonly mbit: number;
  /** Bytes; veth hands tbf GSO packets up to 64 KiB, so keep this at 128 KiB or more. */
  readonly burstBytes?: number;
  /**
   * Queue of the token bucket, as time at the rate (default 200 ms). No fair-queueing qdisc
   * (fq, sfq, fq_codel) is available here to put under tbf; with a short FIFO, some of 16
   * flows into one link back off for minutes while others take the bandwidth.
   */
  readonly latencyMs?: number;
}

/** The set of namespaces one benchmark run created; everything is undone by destroy(). */
export class NetnsSet {
  readonly prefix: string;
  private readonly created: string[] = [];

  constructor(readonly tag: string = String(process.pid)) {
    this.prefix = `${NS_PREFIX}${tag}-`;
  }

  name(role: string): string {
    return `${this.prefix}${role}`;
  }

  add(role: string): string {
    const ns = this.name(role);
    ip('netns', 'add', ns);
    this.created.push(ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    return ns;
  }

  get namespaces(): readonly string[] {
    return this.created;
  }

  /** Kills whatever still runs inside, then deletes the namespaces (their veths go with them). */
  destroy(): void {
    for (const ns of this.created.splice(0).reverse()) removeNamespace(ns);
  }
}

export function removeNamespace(ns: string): void {
  for (const pid of pidsIn(ns)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  try {
    ip('netns', 'del', ns);
  } catch {
    // already gone
  }
}

export function pidsIn(ns: string): number[] {
  try {
    return ip('netns', 'pids', ns)
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    return [];
  }
}

/** Namespaces of earlier runs whose process is gone (a crash or SIGKILL); removes them. */
export function removeStaleNamespaces(): string[] {
  const removed: string[] = [];
  let listing = '';
  try {
    listing = ip('netns', 'list');
  } catch {
    return removed;
  }
  for (const line of listing.split('\n')) {
    const name = line.trim().split(/\s+/)[0];
    const match = new RegExp(`^${NS_PREFIX}(\\d+)-`).exec(name ?? '');
    if (!match || Number(match[1]) === process.pid || processAlive(Number(match[1]))) continue;
    removeNamespace(name);
    removed.push(name);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A veth pair created inside `aNs` whose peer end lands directly in `bNs`. */
export function addVeth(aNs: string, aName: string, bNs: string, bName: string, mtu: number): void {
  ip('-n', aNs, 'link', 'add', aName, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', bName, 'netns', bNs, 'mtu', String(mtu));
}

export function addBridge(ns: string, name: string, mtu: number): void {
  ip('-n', ns, 'link', 'add', name, 'mtu', String(mtu), 'type', 'bridge');
  ip('-n', ns, 'link', 'set', name, 'up');
}

export function attach(ns: string, ifname: string, bridge: string): void {
  ip('-n', ns, 'link', 'set', ifname, 'master', bridge);
  ip('-n', ns, 'link', 'set', ifname, 'up');
}

export function addAddress(ns: string, ifname: string, cidr: string): void {
  ip('-n', ns, 'addr', 'add', cidr, 'dev', ifname);
  ip('-n', ns, 'link', 'set', ifname, 'up');
}

/** Token-bucket rate limit on the egress of `ifname`. */
export function shape(ns: string, ifname: string, options: TbfOptions): void {
  const burst = Math.max(128 * 1024, options.burstBytes ?? 256 * 1024);
  tc('-n', ns, 'qdisc', 'replace', 'dev', ifname, 'root', 'tbf', 'rate', `${options.mbit}mbit`, 'burst', String(burst), 'latency', `${options.latencyMs ?? 200}ms`);
}

export function sysctl(ns: string, key: string, value: string | number): void {
  run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=${value}`]);
}

export interface LinkCounters {
  readonly txBytes: number;
  readonly rxBytes: number;
}

/** The kernel's own byte counters of one interface (what left and entered it). */
export function linkCounters(ns: string, ifname: string): LinkCounters {
  const [link] = JSON.parse(ip('-n', ns, '-j', '-s', 'link', 'show', 'dev', ifname)) as {
    stats64: { tx: { bytes: number }; rx: { bytes: number } };
  }[];
  return { txBytes: link.stats64.tx.bytes, rxBytes: link.stats64.rx.bytes };
}
