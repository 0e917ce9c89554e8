import type { Bitfield } from '../../core/bitfield.ts';
import { NotFoundError, UnavailableError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { ParentInfo, TaskInfo } from '../../core/wire/scheduler.ts';
import type { PeerClient } from '../peer/peer-client.ts';
import { classify, type Verdict } from './parent-verdict.ts';

/** How long a pull waits for a new parent's bitfield before reading from the origin anyway. */
const FIRST_BITFIELD_WAIT_MS = 500;
/** How long a parent that failed to deliver stays dropped, even if the scheduler offers it again. */
const DEAD_COOL_DOWN_MS = 30_000;

/** One parent as this pull sees it. */
export interface Parent {
  info: ParentInfo;
  /** What it offers now (its advertised bitfield, which may hold back pieces it is spreading). */
  bitfield?: Bitfield;
  bitfieldAt: number;
  /** Pieces it claimed in its bitfield but then did not have. */
  lies: number;
  inflight: number;
  failures: number;
  busyUntil: number;
  dead: boolean;
  deadUntil: number;
  /** When the scheduler first offered it. */
  addedAt: number;
  lastWatch: number;
  watching: boolean;
  /** Ends this parent's watch and piece transfers when it is dropped (the pull's own signal ends every one). */
  stopWatch?: AbortController;
  /** When it last delivered a verified piece (0: never). */
  deliveredAt: number;
}

export interface ParentSetOptions {
  readonly task: TaskInfo;
  readonly peers: PeerClient;
  readonly log: Logger;
  /** Least time between two lines of a watch, and between two watches of one parent (ms). */
  readonly bitfieldPollMs: number;
  /** Transfer failures before a parent is dropped. */
  readonly maxParentFailures: number;
  /** This agent's current peer credential for the task. */
  readonly credential: () => string | undefined;
  /** Pieces this pull has: a bitfield line offering nothing else is not news. */
  readonly have: Bitfield;
  /** Something changed that may let the fetch loop start more work. */
  readonly wake: () => void;
}

/**
 * The parents the scheduler offered one pull: what each offers (through a
 * bitfield watch per parent), how loaded and how trustworthy each is. Failed
 * transfers are classified (parent-verdict.ts) and the verdict applied here.
 */
export class ParentSet {
  /** Parents caught serving bad bytes or lying, to be reported to the scheduler. */
  readonly bad = new Set<string>();
  private readonly parents = new Map<string, Parent>();

  constructor(private readonly options: ParentSetOptions) {}

  /** The scheduler's latest list: new parents join; a parent that just failed stays dropped for a while. */
  offer(list: readonly ParentInfo[]): void {
    const now = Date.now();
    for (const info of list) {
      if (this.bad.has(info.peerId)) continue;
      const existing = this.parents.get(info.peerId);
      if (existing && (!existing.dead || existing.deadUntil > now)) {
        existing.info = info;
        continue;
      }
      this.parents.set(info.peerId, {
        info, bitfieldAt: 0, lies: 0, inflight: 0, failures: 0, busyUntil: 0,
        dead: false, deadUntil: 0, addedAt: now, lastWatch: 0, watching: false, deliveredAt: 0,
      });
    }
  }

  /** Parents that may be asked for a piece now. */
  usable(now = Date.now()): Parent[] {
    return [...this.parents.values()].filter((p) => !p.dead && p.bitfield && p.busyUntil <= now);
  }

  /** Whether a parent just offered has not sent its bitfield yet: it may have the very pieces the origin would be asked for. */
  awaitingFirstBitfield(now = Date.now()): boolean {
    return [...this.parents.values()].some((p) => !p.dead && !p.bitfield && now - p.addedAt < FIRST_BITFIELD_WAIT_MS);
  }

  /** Parents dropped for failing to deliver, still within their cool-down. */
  unreachable(now = Date.now()): string[] {
    return [...this.parents.values()].filter((p) => p.dead && p.deadUntil > now && !this.bad.has(p.info.peerId)).map((p) => p.info.peerId);
  }

  /** A bitfield from the parent (a watch line, or with a piece). */
  learn(parent: Parent, bitfield: Bitfield): void {
    parent.bitfield = bitfield;
    parent.bitfieldAt = Date.now();
  }

  delivered(parent: Parent): void {
    parent.failures = 0;
    parent.deliveredAt = Date.now();
  }

  /** The signal of one piece transfer from `parent`: it ends with the pull, or when the parent is dropped. */
  transferSignal(parent: Parent, pull: AbortSignal): AbortSignal {
    parent.stopWatch ??= new AbortController();
    return AbortSignal.any([pull, parent.stopWatch.signal]);
  }

  /**
   * A stuck pull (progress-deadline.ts): drops every parent that has delivered
   * nothing since `since` (ms), ending its transfers; they go to the scheduler
   * as unreachable. Returns how many were dropped.
   */
  dropIdle(since: number): number {
    let dropped = 0;
    for (const parent of this.parents.values()) {
      if (parent.dead || parent.deliveredAt >= since) continue;
      this.markDead(parent);
      dropped++;
    }
    return dropped;
  }

  /** Applies what a failed transfer of piece `index` means; returns the verdict (the loop stops the pull on `fatal-local`). */
  failed(parent: Parent, index: number, error: unknown): Verdict {
    const verdict = classify(error, parent, Date.now());
    const peerId = parent.info.peerId;
    switch (verdict.kind) {
      case 'corrupt':
        this.options.log.warn('parent served a corrupt piece; dropping and reporting it', { parent: peerId, index });
        this.markBad(parent);
        break;
      case 'missing':
      case 'lied':
        parent.bitfield?.clear(index);
        parent.lastWatch = 0;
        if (verdict.kind === 'lied' || verdict.lie) parent.lies++;
        if (verdict.kind === 'lied') {
          this.options.log.warn('parent keeps advertising pieces it does not serve; dropping and reporting it', { parent: peerId });
          this.markBad(parent);
        }
        break;
      case 'gone':
        this.options.log.info('parent does not hold the task; not asking it again during this pull', { parent: peerId, index });
        this.markDead(parent, Number.POSITIVE_INFINITY);
        break;
      case 'piece-busy':
        parent.bitfield?.clear(index);
        break;
      case 'busy':
        parent.busyUntil = verdict.until;
        break;
      case 'fatal-local':
      case 'not-parent':
        break;
      case 'transient':
        parent.failures++;
        this.options.log.warn('piece transfer failed', { parent: peerId, index, error });
        if (parent.failures >= this.options.maxParentFailures) this.markDead(parent);
        break;
    }
    return verdict;
  }

  /**
   * Keeps one bitfield watch open per parent (peer/bitfield-watch.ts): the parent
   * sends its set at once and again when it has news. A watch that ends or
   * breaks is reopened after `bitfieldPollMs`.
   */
  watch(signal: AbortSignal): void {
    const now = Date.now();
    const { peers, task, bitfieldPollMs } = this.options;
    for (const parent of this.parents.values()) {
      if (parent.dead || parent.watching || parent.bitfield?.complete) continue;
      if (now - parent.lastWatch < bitfieldPollMs) continue;
      parent.watching = true;
      parent.lastWatch = now;
      const stopWatch = (parent.stopWatch ??= new AbortController());
      const onBitfield = (bitfield: Bitfield) => {
        this.learn(parent, bitfield);
        // Most lines only repeat pieces this pull has; assigning work again would find nothing new.
        if (bitfield.hasAnyNotIn(this.options.have)) this.options.wake();
      };
      peers
        .watchBitfield(parent.info.addr, task.id, task.pieceCount, this.options.credential(), bitfieldPollMs, onBitfield, AbortSignal.any([signal, stopWatch.signal]))
        .catch((error) => {
          if (error instanceof NotFoundError) return; // it has not opened the task yet
          if (error instanceof UnavailableError) return; // busy, or its peer key is not there yet
          if (++parent.failures >= this.options.maxParentFailures) this.markDead(parent);
        })
        .finally(() => {
          parent.watching = false;
          this.options.wake();
        });
    }
  }

  private markBad(parent: Parent): void {
    this.bad.add(parent.info.peerId);
    this.markDead(parent, Number.POSITIVE_INFINITY);
  }

  private markDead(parent: Parent, forMs = DEAD_COOL_DOWN_MS): void {
    parent.dead = true;
    parent.deadUntil = Date.now() + forMs;
    parent.stopWatch?.abort();
    // A parent offered again after its cool-down gets a fresh controller (see offer()).
    parent.stopWatch = undefined;
  }
}
