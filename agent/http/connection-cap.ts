import { readFileSync } from 'node:fs';
import type { Server, Socket } from 'node:net';

/** Connections a listener keeps at once: in total and from one remote address. */
export interface ConnectionLimits {
  readonly total: number;
  readonly perAddress: number;
}

/** Least time between two "refused" log lines (the count of refusals in between goes with the next). */
const REFUSAL_LOG_GAP_MS = 10_000;
/** Default total when the descriptor limit cannot be read. */
const DEFAULT_TOTAL = 4_096;

/**
 * Refuses connections past the limits at once (the socket is destroyed on
 * accept), so a flood of idle connections on one port cannot use up the
 * process's file descriptors and take the other listeners down with it.
 * Refusals are reported through `onRefused`, at most once per 10 s.
 */
export class ConnectionCap {
  private total = 0;
  private readonly byAddress = new Map<string, number>();
  private refusedSinceReport = 0;
  private lastReport = 0;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly onRefused: (report: { refused: number; reason: string; address: string; open: number }) => void,
  ) {}

  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.admit(socket));
  }

  /** Connections open now (for tests and metrics). */
  get open(): number {
    return this.total;
  }

  private admit(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const fromAddress = this.byAddress.get(address) ?? 0;
    const reason = this.total >= this.limits.total ? 'total' : fromAddress >= this.limits.perAddress ? 'per-address' : undefined;
    if (reason) {
      socket.destroy();
      this.refused(reason, address);
      return;
    }
    this.total++;
    this.byAddress.set(address, fromAddress + 1);
    socket.once('close', () => {
      this.total--;
      const left = (this.byAddress.get(address) ?? 1) - 1;
      if (left > 0) this.byAddress.set(address, left);
      else this.byAddress.delete(address);
    });
  }

  private refused(reason: string, address: string): void {
    this.refusedSinceReport++;
    const now = Date.now();
    if (now - this.lastReport < REFUSAL_LOG_GAP_MS) return;
    this.lastReport = now;
    this.onRefused({ refused: this.refusedSinceReport, reason, address, open: this.total });
    this.refusedSinceReport = 0;
  }
}

/**
 * The default total for the peer port: half the process's open-file limit (the
 * rest stays for the cache, the local API and outgoing transfers), at most 4096.
 * Reads /proc/self/limits (Linux); elsewhere 4096.
 */
export function defaultConnectionTotal(limitsText?: string): number {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return DEFAULT_TOTAL;
    }
  }
  const soft = /^Max open files\s+(\d+|unlimited)/m.exec(text)?.[1];
  if (!soft || soft === 'unlimited') return DEFAULT_TOTAL;
  return Math.max(16, Math.min(DEFAULT_TOTAL, Math.floor(Number(soft) / 2)));
}
