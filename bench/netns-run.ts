import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fluidLowerBound } from './fluid-bound.ts';
import { NetnsSet, linkCounters, netnsUnsupportedReason, removeStaleNamespaces } from './netns.ts';
import { killAllNsProcesses, type NsProcess } from './ns-process.ts';
import { sum } from './stats.ts';
import { buildTopology, type Topology } from './topology.ts';

export interface ShapedSiteOptions {
  readonly hosts: number;
  readonly hostMbit: number;
  readonly originMbit: number;
  readonly mtu: number;
}

/**
 * Runs `body` on a fresh one-site topology in network namespaces (topology.ts: each host
 * at `hostMbit`, the origin at `originMbit`, tbf) with a temp folder of its own, and
 * tears both down afterwards, or on SIGINT/SIGTERM (exit 130). `workload` names the
 * workload in the error thrown where namespaces are not available.
 */
export async function onShapedSite<T>(workload: string, options: ShapedSiteOptions, body: (topology: Topology, root: string) => Promise<T>): Promise<T> {
  const unsupported = netnsUnsupportedReason();
  if (unsupported) throw new Error(`the ${workload} workload needs network namespaces: ${unsupported} (--loopback runs it on the local stack)`);
  removeStaleNamespaces();
  const root = await mkdtemp(join(tmpdir(), `mayfly-bench-${workload}-netns-`));
  const network = new NetnsSet();
  const interrupted = () => {
    killAllNsProcesses();
    network.destroy();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    return await body(buildTopology(network, { hosts: options.hosts, sites: 1, hostMbit: options.hostMbit, originMbit: options.originMbit, interSiteMbit: 1, mtu: options.mtu }), root);
  } finally {
    process.removeListener('SIGINT', interrupted);
    process.removeListener('SIGTERM', interrupted);
    killAllNsProcesses();
    network.destroy();
    await rm(root, { recursive: true, force: true });
  }
}

/** Bytes the origin's namespace has sent on its links so far (kernel counters). */
export function originTx(topology: Topology): number {
  return sum(topology.origin.ifnames.map((ifname) => linkCounters(topology.origin.ns, ifname).txBytes));
}

/** T_min of `bytes` to every host of a shaped site (fluid-bound.ts), each host at `hostMbit` both ways. */
export function shapedSiteBound(bytes: number, options: ShapedSiteOptions): ReturnType<typeof fluidLowerBound> {
  const hostBps = Array<number>(options.hosts).fill(options.hostMbit * 1e6);
  return fluidLowerBound({ bytes, serverBps: options.originMbit * 1e6, downloadBps: hostBps, uploadBps: hostBps });
}

/**
 * Asks an origin host process (origin-host scripts' stdin protocol) to `reset` its counters
 * or report `stats`; resolves its answer line. Errors: no answer in 30 s.
 */
export function originCounters(origin: NsProcess): (command: 'reset' | 'stats') => Promise<Record<string, unknown>> {
  let seq = 0;
  return (command) => {
    const n = ++seq;
    origin.send(`${command} ${n}`);
    return origin.waitFor((message) => message[command] === n, 30_000);
  };
}
