import { setMaxListeners } from 'node:events';
import type { Bitfield } from '../../core/bitfield.ts';
import type { Logger } from '../../core/log.ts';
import { pickParent, rarestFirst } from '../../core/piece-selection.ts';
import type { OriginLocation } from '../../core/origin-url.ts';
import type { ParentInfo, TaskInfo } from '../../core/wire/scheduler.ts';
import type { TaskFiles } from '../cache/task-files.ts';
import type { PieceWriter } from '../cache/piece-writer.ts';
import type { OriginFetcher } from '../origin/origin-fetcher.ts';
import type { ChildView } from '../peer/child-view.ts';
import type { PeerClient } from '../peer/peer-client.ts';
import type { DigestSink } from './digest-publisher.ts';
import type { Manifest } from './manifest.ts';
import { OriginPieces } from './origin-pieces.ts';
import { receiveParentPiece } from './parent-piece.ts';
import { ParentSet, type Parent } from './parent-set.ts';
import { ProgressDeadline } from './progress-deadline.ts';
import type { DownloadEvents } from './task-events.ts';

export interface DownloadLimits {
  /** Pieces in flight across all sources. */
  readonly maxInflight: number;
  readonly perParent: number;
  readonly originInflight: number;
  /** Least time between two lines of a parent's bitfield watch, and between two watches of one parent. */
  readonly bitfieldPollMs: number;
  /** Transfer failures before a parent is dropped. */
  readonly maxParentFailures: number;
  /** A pull with no verified piece for this long re-announces, and half as long again reads the origin (progress-deadline.ts). */
  readonly progressDeadlineMs: number;
}

export const DEFAULT_DOWNLOAD_LIMITS: DownloadLimits = {
  maxInflight: 4,
  perParent: 1,
  originInflight: 4,
  bitfieldPollMs: 250,
  maxParentFailures: 3,
  progressDeadlineMs: 30_000,
};

export interface DownloaderOptions {
  readonly task: TaskInfo;
  readonly location: OriginLocation;
  readonly files: TaskFiles;
  /** What children see of the task (pieces read from the origin are held back until published). */
  readonly view: ChildView;
  readonly manifest: Manifest;
  readonly peers: PeerClient;
  readonly origin: OriginFetcher;
  readonly publisher: DigestSink;
  readonly log: Logger;
  readonly limits?: Partial<DownloadLimits>;
  /** This agent's current peer credential for the task (from the scheduler). */
  readonly credential: () => string | undefined;
  readonly events: DownloadEvents;
}

/**
 * The fetch loop of one pull: several pieces in flight across several
 * parents (parent-set.ts), rarest first, every piece verified against the
 * manifest before it is marked as stored (parent-piece.ts); the origin (origin-pieces.ts) is used
 * only while the scheduler grants it, and only for pieces no parent has.
 */
export class Downloader {
  bytesFromPeers = 0;
  private readonly limits: DownloadLimits;
  private readonly parents: ParentSet;
  /** Back-to-source (its session starts and ends reading without the scheduler: OriginPieces.pace). */
  readonly origin: OriginPieces;
  private readonly missing = new Set<number>();
  private readonly inflight = new Map<number, string>();
  /** Pieces being received from parents, for the bytes they hold so far. */
  private readonly receiving = new Set<PieceWriter>();
  private controller = pullController();
  private readonly deadline: ProgressDeadline;
  private fatal?: unknown;
  private wakeUp?: () => void;

  constructor(private readonly options: DownloaderOptions) {
    this.limits = { ...DEFAULT_DOWNLOAD_LIMITS, ...options.limits };
    this.deadline = new ProgressDeadline(this.limits.progressDeadlineMs, Date.now(), options.task.pieceLength);
    const { task, peers, log, files, view, location, manifest, publisher } = options;
    this.parents = new ParentSet({
      task,
      peers,
      log,
      bitfieldPollMs: this.limits.bitfieldPollMs,
      maxParentFailures: this.limits.maxParentFailures,
      credential: options.credential,
      have: files.bitfield,
      wake: () => this.wake(),
    });
    this.origin = new OriginPieces({ task, location, files, view, origin: options.origin, publisher, manifest, log, inflight: this.limits.originInflight });
  }

  get bytesFromOrigin(): number {
    return this.origin.bytes;
  }

  /** Parents caught serving bad bytes, to be reported to the scheduler. */
  get badParents(): ReadonlySet<string> {
    return this.parents.bad;
  }

  /** Parents dropped for failing to deliver, still within their cool-down. */
  unreachable(): string[] {
    return this.parents.unreachable();
  }

  /** Adds pieces to fetch (a new range or a whole-object pull joining a partial one). */
  want(indexes: Iterable<number>): void {
    for (const index of indexes) if (!this.options.files.bitfield.has(index)) this.missing.add(index);
    this.wake();
  }

  get failed(): unknown {
    return this.fatal;
  }

  /** Waits until the digests of pieces read from the origin are published. */
  settled(): Promise<void> {
    return this.origin.settled();
  }

  /** What a pull that has no byte yet waits for, in the words a progress bar shows. */
  get waitingFor(): string {
    if (this.origin.granted) return 'reading from S3';
    return this.parents.usable().length > 0 ? 'waiting for peers' : 'waiting for the seed';
  }

  get remaining(): number {
    return this.missing.size;
  }

  setParents(list: readonly ParentInfo[]): void {
    this.parents.offer(list);
    this.wake();
  }

  /** The back-to-source grant; `presignedUrl` replaces the last one issued, if given. */
  allowOrigin(allowed: boolean, presignedUrl?: string): void {
    this.origin.allow(allowed, presignedUrl);
    this.wake();
  }

  /** A piece read from the origin did not match its vouched digest: read it again (see OriginPieces.readAgain). */
  readAgain(index: number): void {
    this.origin.readAgain(index);
  }

  abort(reason: unknown): void {
    this.fatal ??= reason;
    this.controller.abort(reason);
    this.wake();
  }

  /** Fetches every wanted piece; resolves when none is missing. Can run again after want(). */
  async run(): Promise<void> {
    if (this.controller.signal.aborted && !this.fatal) this.controller = pullController();
    this.deadline.restart(Date.now());
    try {
      while (this.missing.size > 0) {
        if (this.fatal) throw this.fatal;
        this.checkDeadline();
        this.parents.watch(this.controller.signal);
        const started = this.assign();
        if (!started && this.inflight.size === 0) this.options.events.starved();
        await this.waitForWake(this.inflight.size === 0 ? 100 : 500);
      }
      if (this.fatal) throw this.fatal;
    } finally {
      this.controller.abort(new Error('download finished'));
      this.origin.fallBack(false);
    }
  }

  /** No pull waits forever: see progress-deadline.ts for the steps. */
  private checkDeadline(): void {
    const partial = [...this.receiving].reduce((sum, writer) => sum + writer.written, 0);
    this.deadline.received(this.bytesFromPeers + this.bytesFromOrigin + partial, Date.now());
    if (this.options.events.controlPlaneBehind()) this.deadline.hold(Date.now()); // after: it gives back what bytes spent
    const since = this.deadline.since;
    const step = this.deadline.check(Date.now());
    if (step === 'wait') return;
    const idleMs = Date.now() - since;
    const dropped = this.parents.dropIdle(this.deadline.verifiedSince);
    this.options.log.warn(step === 'origin' ? 'pull still stuck: reading the origin' : 'pull stuck: dropping idle parents and asking the scheduler again', { idleMs, dropped, remaining: this.missing.size });
    this.options.events.stalled(step);
  }

  /** The direct fallback of a stuck pull: the origin is read without a grant until this run ends. */
  fallBackToOrigin(): void {
    this.origin.fallBack(true);
    this.wake();
  }

  private assign(): boolean {
    const candidates = [...this.missing].filter((index) => !this.inflight.has(index));
    if (candidates.length === 0) return false;
    const now = Date.now();
    const usable = this.parents.usable(now);
    const { order, availability } = rarestFirst(candidates, usable);
    const awaitingParents = this.parents.awaitingFirstBitfield(now);
    let started = false;
    for (const index of order) {
      if (this.inflight.size >= this.limits.maxInflight) break;
      if (availability.get(index)! > 0) {
        const parent = pickParent(usable, index, this.limits.perParent);
        if (parent) {
          this.fromParent(index, parent);
          started = true;
        }
      } else if (!awaitingParents && this.origin.available) {
        this.fromOrigin(index);
        started = true;
      }
    }
    return started;
  }

  private fromParent(index: number, parent: Parent): void {
    parent.inflight++;
    this.inflight.set(index, parent.info.peerId);
    const started = Date.now();
    const signal = this.parents.transferSignal(parent, this.controller.signal);
    // Its bytes count toward the progress deadline until they are counted as the pull's (or lost).
    let receiving: PieceWriter | undefined;
    const hooks = {
      receiving: (writer: PieceWriter) => this.receiving.add((receiving = writer)),
      learned: (bitfield: Bitfield) => this.parents.learn(parent, bitfield),
    };
    receiveParentPiece(this.options, parent, index, signal, hooks)
      .then(({ writer, digest }) => {
        this.options.files.markVerified(index, digest);
        this.options.log.debug('piece from parent', { index, parent: parent.info.peerId, ms: Date.now() - started, chunks: writer.chunks });
        this.missing.delete(index);
        this.bytesFromPeers += writer.written;
        this.receiving.delete(writer);
        this.parents.delivered(parent);
        this.deadline.progress(Date.now());
        this.options.events.piece(index, writer.written, false);
      })
      .catch((error) => {
        if (this.controller.signal.aborted) return;
        if (this.parents.failed(parent, index, error).kind === 'fatal-local') this.abort(error);
      })
      .finally(() => {
        if (receiving) this.receiving.delete(receiving);
        parent.inflight--;
        this.inflight.delete(index);
        this.wake();
      });
  }

  private fromOrigin(index: number): void {
    this.inflight.set(index, 'origin');
    this.origin
      .fetch(index, this.controller.signal)
      .then((bytes) => {
        if (bytes === undefined) return;
        this.deadline.progress(Date.now());
        this.missing.delete(index);
        this.options.events.piece(index, bytes, true);
      })
      .catch((error) => this.abort(error))
      .finally(() => {
        this.inflight.delete(index);
        this.wake();
      });
  }

  private wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }

  private waitForWake(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** One signal is shared by every request of a pull (pieces and bitfield watches), so no listener limit. */
function pullController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
