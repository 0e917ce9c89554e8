/**
 * Whole-machine CPU use from /proc/stat, sampled on an interval: tells whether
 * a benchmark measured the software or merely ran out of cores.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

interface Jiffies {
  readonly busy: number;
  readonly total: number;
}

function readJiffies(): Jiffies {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  const total = values.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

export interface CpuSummary {
  readonly cores: number;
  /** Mean busy fraction of all cores over the sampled time, 0..1. */
  readonly meanBusy: number;
  /** Share of samples in which the machine was at least 90% busy. */
  readonly saturatedShare: number;
  readonly samples: number;
}

export class CpuSampler {
  private readonly busy: number[] = [];
  private timer?: NodeJS.Timeout;
  private last = readJiffies();
  private first = this.last;

  constructor(private readonly intervalMs = 500) {}

  start(): void {
    this.first = this.last = readJiffies();
    this.timer = setInterval(() => {
      const now = readJiffies();
      const total = now.total - this.last.total;
      if (total > 0) this.busy.push((now.busy - this.last.busy) / total);
      this.last = now;
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): CpuSummary {
    if (this.timer) clearInterval(this.timer);
    const end = readJiffies();
    const total = end.total - this.first.total;
    return {
      cores: cpus().length,
      meanBusy: total > 0 ? (end.busy - this.first.busy) / total : 0,
      saturatedShare: this.busy.length ? this.busy.filter((value) => value >= 0.9).length / this.busy.length : 0,
      samples: this.busy.length,
    };
  }
}
