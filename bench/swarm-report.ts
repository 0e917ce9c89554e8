/**
 * What `npm run bench:swarm` prints and saves: each phase's hosts, link rates
 * and CPU, and the run's summary against T_min (the fluid lower bound).
 */
import { round } from './stats.ts';
import type { PhaseResult } from './swarm-phase.ts';

export interface SwarmReportContext {
  readonly hostCount: number;
  /** Object size, bytes. */
  readonly size: number;
  readonly sizeMib: string;
  readonly hostMbit: number;
  readonly originMbit: number;
  readonly interSiteMbit: number;
  readonly mtu: number;
  /** T_min: the fluid lower bound, seconds, and which term set it. */
  readonly bound: { readonly seconds: number; readonly term: string };
  /** N·F / u_s: the fastest a pull straight from S3 could be, seconds. */
  readonly directBound: number;
  readonly log: (line: string) => void;
}

export function printPhase(ctx: SwarmReportContext, result: PhaseResult): void {
  const { size, log } = ctx;
  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1).padStart(8);
  log(`host   site  seconds  from peers MiB  from S3 MiB  sha256  agent CPU s`);
  for (const host of [...result.hosts].sort((a, b) => a.seconds - b.seconds)) {
    log(
      `${host.host.padEnd(6)} ${String(host.site).padStart(4)}  ${host.seconds.toFixed(2).padStart(7)}  ${mib(host.bytesFromPeers)}        ${mib(host.bytesFromOrigin)}   ${host.verified ? 'ok    ' : 'FAILED'}  ${host.agentCpuSeconds?.toFixed(1) ?? '-'}` +
        (host.error ? `  ${host.error}` : ''),
    );
  }
  log(
    `max ${result.maxSeconds.toFixed(2)} s, median ${result.medianSeconds.toFixed(2)} s; origin link sent ${(result.originLinkBytes / size).toFixed(3)} × F` +
      (result.interSiteBytes !== undefined ? `; inter-site link carried ${(result.interSiteBytes / 1024 / 1024).toFixed(1)} MiB (${((100 * result.interSiteBytes) / size).toFixed(2)}% of F)` : ''),
  );
  printTimeline(ctx, result);
  const counted = result.hosts.filter((host) => host.counters && Object.keys(host.counters).length > 0);
  if (counted.length > 0) {
    const total = (name: string) => counted.reduce((acc, host) => acc + (host.counters![name] ?? 0), 0);
    log(
      `uploads (agents' own counters): ${total('pieces_served_total')} pieces served, ${total('uploads_rejected_busy_total')} refused as busy (503), ` +
        `${total('uploads_redirected_total')} redirected to the child already receiving the piece, ${total('pieces_failed_total')} failed transfers, ` +
        `${total('bitfields_served_total')} bitfield answers`,
    );
  }
  const cpu = Object.entries(result.cpuSecondsByRole).map(([role, seconds]) => `${role} ${seconds.toFixed(1)} s`).join(', ');
  log(`CPU: machine ${(result.cpu.meanBusy * 100).toFixed(0)}% busy on average over ${result.cpu.cores} cores, ≥90% busy in ${(result.cpu.saturatedShare * 100).toFixed(0)}% of samples; ${cpu}`);
}

/** Aggregate rates every few seconds: origin out, all hosts' uploads, all hosts' downloads. */
function printTimeline({ log }: SwarmReportContext, result: PhaseResult): void {
  const samples = result.timeline;
  if (samples.length < 2) return;
  const step = Math.max(1, Math.round(samples.length / 12));
  const hostPorts = result.hosts.map((host) => host.host);
  const originPorts = Object.keys(samples[0].ports).filter((port) => port.startsWith('o'));
  const total = (i: number, ports: string[], direction: 0 | 1) => ports.reduce((acc, port) => acc + (samples[i].ports[port]?.[direction] ?? 0), 0);
  const cells: string[] = [];
  for (let i = step; i < samples.length; i += step) {
    const dt = samples[i].t - samples[i - step].t;
    const mbit = (ports: string[], direction: 0 | 1) => Math.round(((total(i, ports, direction) - total(i - step, ports, direction)) * 8) / dt / 1e6);
    cells.push(`${samples[i].t.toFixed(0).padStart(4)} s: origin ${String(mbit(originPorts, 0)).padStart(4)}, hosts up ${String(mbit(hostPorts, 0)).padStart(5)}, down ${String(mbit(hostPorts, 1)).padStart(5)} Mbit/s`);
  }
  log(`link rates (switch counters):\n  ${cells.join('\n  ')}`);
}

export function summarize(ctx: SwarmReportContext, all: PhaseResult[]) {
  const { hostCount, size, hostMbit, originMbit, interSiteMbit, mtu, bound, directBound } = ctx;
  const mayfly = all.find((r) => r.label === 'Mayfly, one site');
  const direct = all.find((r) => r.mode === 'direct');
  const two = all.find((r) => r.label === 'Mayfly, two sites');
  return {
    date: new Date().toISOString(),
    hosts: hostCount,
    objectBytes: size,
    hostMbit,
    originMbit,
    interSiteMbit,
    mtu,
    tMinSeconds: round(bound.seconds, 2),
    tMinTerm: bound.term,
    directBoundSeconds: round(directBound, 2),
    mayfly: mayfly && {
      maxSeconds: round(mayfly.maxSeconds),
      medianSeconds: round(mayfly.medianSeconds),
      maxOverTmin: round(mayfly.maxSeconds / bound.seconds, 3),
      originOverF: round(mayfly.originLinkBytes / size, 3),
      cpuMeanBusy: round(mayfly.cpu.meanBusy, 2),
      cpuSaturatedShare: round(mayfly.cpu.saturatedShare, 2),
      targets: { maxOverTminLe1_3: mayfly.maxSeconds / bound.seconds <= 1.3, originLe1_05F: mayfly.originLinkBytes / size <= 1.05 },
    },
    direct: direct && {
      maxSeconds: round(direct.maxSeconds),
      medianSeconds: round(direct.medianSeconds),
      maxOverTmin: round(direct.maxSeconds / bound.seconds, 3),
      originOverF: round(direct.originLinkBytes / size, 3),
    },
    twoSite: two && {
      maxSeconds: round(two.maxSeconds),
      medianSeconds: round(two.medianSeconds),
      originOverF: round(two.originLinkBytes / size, 3),
      interSiteOverF: round((two.interSiteBytes ?? 0) / size, 4),
      targets: { originAbout2F: Math.abs(two.originLinkBytes / size - 2) <= 0.1, interSiteLe5pct: (two.interSiteBytes ?? 0) / size <= 0.05 },
    },
  };
}

export function printSummary(ctx: SwarmReportContext, summary: ReturnType<typeof summarize>): void {
  const { log, hostCount, hostMbit, originMbit } = ctx;
  log(`\n==== summary: ${hostCount} hosts, ${ctx.sizeMib} MiB, hosts ${hostMbit} Mbit/s, origin ${originMbit} Mbit/s ====`);
  log(`T_min = ${summary.tMinSeconds} s (${summary.tMinTerm} term); direct-from-S3 bound N·F/u_s = ${summary.directBoundSeconds} s`);
  if (summary.mayfly) {
    const m = summary.mayfly;
    log(`Mayfly:  max ${m.maxSeconds} s, median ${m.medianSeconds} s, max/T_min ${m.maxOverTmin} (target ≤ 1.3: ${m.targets.maxOverTminLe1_3 ? 'met' : 'MISSED'}), ` +
      `origin ${m.originOverF} × F (target ≤ 1.05: ${m.targets.originLe1_05F ? 'met' : 'MISSED'}), CPU ${Math.round(m.cpuMeanBusy * 100)}% busy`);
  }
  if (summary.direct) {
    const d = summary.direct;
    log(`direct:  max ${d.maxSeconds} s, median ${d.medianSeconds} s, max/T_min ${d.maxOverTmin}, origin ${d.originOverF} × F`);
  }
  if (summary.twoSite) {
    const t = summary.twoSite;
    log(`2 sites: max ${t.maxSeconds} s, median ${t.medianSeconds} s, origin ${t.originOverF} × F (target ≈ 2: ${t.targets.originAbout2F ? 'met' : 'MISSED'}), ` +
      `inter-site ${(t.interSiteOverF * 100).toFixed(2)}% of F (target ≤ 5%: ${t.targets.interSiteLe5pct ? 'met' : 'MISSED'})`);
  }
}
