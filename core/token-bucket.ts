/**
 * A token bucket for bandwidth limits: `rate` bytes per second with a burst of
 * `burst` bytes. `take` reserves bytes and says how long to wait before sending
 * them, so callers sleep instead of polling. Pure: the clock is injected.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(readonly rate: number, readonly burst: number, private readonly now: () => number = () => performance.now()) {
    if (!(rate > 0) || !(burst > 0)) throw new RangeError('rate and burst must be positive');
    this.tokens = burst;
    this.last = now();
  }

  /** Reserves `bytes`; returns the milliseconds to wait before using them (0 = now). */
  take(bytes: number): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.rate) * 1000;
  }
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  kbit: 1e3 / 8,
  mbit: 1e6 / 8,
  gbit: 1e9 / 8,
};

/** Parses "50MiB", "100Mbit", "2.5GB", "1048576" (optionally with "/s") into bytes. */
export function parseByteSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*(?:\/s)?\s*$/i.exec(text);
  const unit = match ? UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new RangeError(`cannot read ${JSON.stringify(text)} as a size; use e.g. 512MiB, 20GB, 100Mbit`);
  }
  const value = Number(match[1]) * unit;
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`size must be positive: ${text}`);
  return Math.floor(value);
}
