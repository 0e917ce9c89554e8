import type { Logger } from '../../core/log.ts';
import type { DigestMap } from '../../core/wire/scheduler.ts';

/** How often pieces waiting for the control plane's digest poll for it. */
const POLL_MS = 250;
/** After this long without a vouched digest a piece stays local (never served to children). */
const WAIT_MS = 5 * 60_000;

export interface DigestVoucherOptions {
  /** The control plane's digests (GET /v1/tasks/:id/digests). */
  readonly fetchVouched: () => Promise<DigestMap>;
  /** The vouched digest of a piece as this agent knows it (its Manifest), and a way to add to it. */
  readonly known: (index: number) => string | undefined;
  readonly merge: (digests: DigestMap) => void;
  /** Reports a piece whose bytes read from the origin differ from the vouched digest (an incident). */
  readonly report: (index: number, digest: string) => Promise<unknown>;
  /** Called once per mismatching piece, after it is reported: read it again. */
  readonly mismatch: (index: number) => void;
  readonly log: Logger;
}

/**
 * For tasks whose digests the control plane computes from S3 (digestSource
 * `origin`): the back-to-source holder does not publish what it read; it
 * checks each piece against the vouched digest and offers the piece to
 * children only once that digest is known and matches. A mismatch is an
 * incident: the piece is never served, it is reported and read again.
 */
export class DigestVoucher {
  /** This agent's digests are checked, not published: they never enter its manifest unvouched. */
  readonly attests = false;
  private readonly pending = new Map<number, { digest: string; since: number; done: Array<(ok: boolean) => void> }>();
  private polling = false;
  private failing = false;
  private idle: Array<() => void> = [];

  constructor(private readonly options: DigestVoucherOptions) {}

  /** Resolves true once the vouched digest matches `digest`, false on a mismatch or when none came in time. */
  publish(index: number, digest: string): Promise<boolean> {
    return new Promise((resolve) => {
      const entry = this.pending.get(index) ?? { digest, since: Date.now(), done: [] };
      entry.digest = digest;
      entry.done.push(resolve);
      this.pending.set(index, entry);
      void this.poll();
    });
  }

  /** Resolves when no piece waits for its vouched digest. */
  drain(): Promise<void> {
    if (!this.polling && this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      while (this.pending.size > 0) {
        if (!this.settleKnown()) {
          try {
            this.options.merge(await this.options.fetchVouched());
            this.failing = false;
          } catch (error) {
            // Once per outage: the poll goes on every 250 ms.
            if (!this.failing) this.options.log.warn('fetching vouched digests failed', { error: (error as Error).message });
            this.failing = true;
          }
          if (this.settleKnown()) continue;
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      }
    } finally {
      this.polling = false;
      for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  /** Settles every pending piece whose vouched digest is known (or that waited too long); true if any was. */
  private settleKnown(): boolean {
    let settled = false;
    const now = Date.now();
    for (const [index, entry] of this.pending) {
      const vouched = this.options.known(index);
      if (vouched === undefined && now - entry.since < WAIT_MS) continue;
      this.pending.delete(index);
      settled = true;
      const ok = vouched === entry.digest;
      if (vouched === undefined) this.options.log.warn('no vouched digest in time; piece kept locally, not served', { index });
      else if (!ok) this.incident(index, entry.digest, vouched);
      for (const resolve of entry.done) resolve(ok);
    }
    return settled;
  }

  private incident(index: number, read: string, vouched: string): void {
    const { log, report, mismatch } = this.options;
    log.error('piece read from the origin differs from the vouched digest; not served, reported, read again', { index, read, vouched });
    void report(index, read).catch((error) => log.warn('reporting the incident failed', { index, error: (error as Error).message }));
    mismatch(index);
  }
}
