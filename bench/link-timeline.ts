/**
 * Samples every switch port's byte counters once a second with one `ip`
 * call, so a phase can say who sent and received how much, when. From the
 * switch's side, a port's rx is what its host uploaded and its tx is what the
 * host downloaded.
 */
import { ip } from './netns.ts';

export interface PortSample {
  readonly t: number;
  /** Port name → [uploaded by the host, downloaded by the host] in bytes since the first sample. */
  readonly ports: Record<string, [number, number]>;
}

function readPorts(switchNs: string): Record<string, [number, number]> {
  const links = JSON.parse(ip('-n', switchNs, '-j', '-s', 'link', 'show')) as {
    ifname: string;
    stats64?: { rx: { bytes: number }; tx: { bytes: number } };
  }[];
  const ports: Record<string, [number, number]> = {};
  for (const link of links) if (link.stats64 && !link.ifname.startsWith('br') && link.ifname !== 'lo') ports[link.ifname] = [link.stats64.rx.bytes, link.stats64.tx.bytes];
  return ports;
}

export class LinkTimeline {
  readonly samples: PortSample[] = [];
  private base: Record<string, [number, number]> = {};
  private started = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly switchNs: string, private readonly intervalMs = 1000) {}

  start(): void {
    this.base = readPorts(this.switchNs);
    this.started = Date.now();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): PortSample[] {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    return this.samples;
  }

  private sample(): void {
    let now: Record<string, [number, number]>;
    try {
      now = readPorts(this.switchNs);
    } catch {
      return;
    }
    const ports: Record<string, [number, number]> = {};
    for (const [name, [up, down]] of Object.entries(now)) {
      const base = this.base[name] ?? [0, 0];
      ports[name] = [up - base[0], down - base[1]];
    }
    this.samples.push({ t: (Date.now() - this.started) / 1000, ports });
  }
}

/** Mbit/s of one port and direction over each sampling interval. */
export function rates(samples: readonly PortSample[], port: string, direction: 0 | 1): { t: number; mbit: number }[] {
  const out: { t: number; mbit: number }[] = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = samples[i].t - samples[i - 1].t;
    const bytes = (samples[i].ports[port]?.[direction] ?? 0) - (samples[i - 1].ports[port]?.[direction] ?? 0);
    if (dt > 0) out.push({ t: samples[i].t, mbit: (bytes * 8) / dt / 1e6 });
  }
  return out;
}
