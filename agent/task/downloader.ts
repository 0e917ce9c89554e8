import { setMaxListeners } from 'node:events';
import type { Bitfield } from '../../core/bitfield.ts';
import { IntegrityError, MayflyError, NotFoundError, UnavailableError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { pickParent, rarestFirst } from '../../core/piece-selection.ts';
import type { OriginLocation } from '../../core/origin-url.ts';
import type { ParentInfo, TaskInfo } from '../../core/wire/scheduler.ts';
import type { DigestPublisher } from './digest-publisher.ts';
import type { Manifest } from './manifest.ts';
import type { OriginFetcher } from '../origin/origin-fetcher.ts';
import type { PeerClient } from '../peer/peer-client.ts';
import type { TaskFiles } from '../cache/piece-store.ts';

export interface DownloadLimits {
  /** Pieces in flight across all sources. */
  readonly maxInflight: number;
  readonly perParent: number;
  readonly originInflight: number;
  /** Least time between two lines of a parent's bitfield watch, and between two watches of one parent. */
  readonly bitfieldPollMs: number;
  /** Transfer failures before a parent is dropped. */
  readonly maxParentFailures: number;
}

/** How long a pull waits for a new parent's bitfield before reading from the origin anyway. */
const FIRST_BITFIELD_WAIT_MS = 500;

export const DEFAULT_DOWNLOAD_LIMITS: DownloadLimits = {
  maxInflight: 4,
  perParent: 1,
  originInflight: 4,
  bitfieldPollMs: 250,
  maxParentFailures: 3,
};

export interface DownloaderOptions {
  readonly task: TaskInfo;
  readonly location: OriginLocation;
  readonly files: TaskFiles;
  /** Pieces wanted from the start; more can be added with want(). */
  readonly wanted?: readonly number[];
  readonly manifest: Manifest;
  readonly peers: PeerClient;
  readonly origin: OriginFetcher;
  readonly publisher: DigestPublisher;
  readonly log: Logger;
  readonly limits?: Partial<DownloadLimits>;
  /** Called when no parent has anything this pull needs. */
  readonly onStarved: () => void;
  /** The latest presigned origin URL from the scheduler, if it issues them. */
  readonly presignedUrl?: () => string | undefined;
  /** This agent's current peer credential for the task (from the scheduler). */
  readonly credential?: () => string | undefined;
  readonly onPiece?: (index: number, bytes: number, fromOrigin: boolean) => void;
}

interface ParentState {
  info: ParentInfo;
  /** What it offers now (its advertised bitfield, which may hold back pieces it is spreading). */
  bitfield?: Bitfield;
  bitfieldAt: number;
  /** Pieces it claimed in its bitfield but then did not have. */
  lies: number;
  deadUntil: number;
  inflight: number;
  failures: number;
  busyUntil: number;
  lastWatch: number;
  /** When the scheduler first offered it. */
  addedAt: number;
  watching: boolean;
  /** Ends this parent's watch when it is dropped (the pull's own signal ends every watch). */
  stopWatch?: AbortController;
  dead: boolean;
}

/**
 * Piece scheduling for one pull: several pieces in flight across several
 * parents, rarest first, every piece verified against the manifest before it
 * is marked as stored; the origin is used only while the scheduler grants it,
 * and only for pieces no parent has.
 */
export class Downloader {
  bytesFromPeers = 0;
  bytesFromOrigin = 0;
  /** Parents caught serving bad bytes, to be reported to the scheduler. */
  readonly badParents = new Set<string>();
  private readonly limits: DownloadLimits;
  private readonly parents = new Map<string, ParentState>();
  private readonly missing: Set<number>;
  private readonly inflight = new Map<number, string>();
  private controller = pullController();
  private originAllowed = false;
  private originActive = 0;
  private originFailures = 0;
  private fatal?: unknown;
  private wakeUp?: () => void;

  constructor(private readonly options: DownloaderOptions) {
    this.limits = { ...DEFAULT_DOWNLOAD_LIMITS, ...options.limits };
    this.missing = new Set((options.wanted ?? []).filter((index) => !options.files.bitfield.has(index)));
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
    return this.options.publisher.drain();
  }

  get remaining(): number {
    return this.missing.size;
  }

  setParents(list: readonly ParentInfo[]): void {
    for (const info of list) {
      if (this.badParents.has(info.peerId)) continue;
      const existing = this.parents.get(info.peerId);
      if (existing && (!existing.dead || existing.deadUntil > Date.now())) {
        // A parent that just failed stays dropped for a while, even if the scheduler offers it again.
        existing.info = info;
        continue;
      }
      this.parents.set(info.peerId, {
        info,
        bitfieldAt: 0,
        lies: 0,
        deadUntil: 0,
        inflight: 0,
        failures: 0,
        busyUntil: 0,
        lastWatch: 0,
        addedAt: Date.now(),
        watching: false,
        dead: false,
      });
    }
    this.wake();
  }

  setOriginAllowed(allowed: boolean): void {
    if (allowed !== this.originAllowed) this.options.log.info(allowed ? 'back-to-source enabled' : 'back-to-source withdrawn');
    this.originAllowed = allowed;
    this.wake();
  }

  abort(reason: unknown): void {
    this.fatal ??= reason;
    this.controller.abort(reason);
    this.wake();
  }

  /** Fetches every wanted piece; resolves when none is missing. Can run again after want(). */
  async run(): Promise<void> {
    if (this.controller.signal.aborted && !this.fatal) this.controller = pullController();
    try {
      while (this.missing.size > 0) {
        if (this.fatal) throw this.fatal;
        this.watchParents();
        const started = this.assign();
        if (!started && this.inflight.size === 0) this.options.onStarved();
        await this.waitForWake(this.inflight.size === 0 ? 100 : 500);
      }
      if (this.fatal) throw this.fatal;
    } finally {
      this.controller.abort(new Error('download finished'));
    }
  }

  private assign(): boolean {
    const candidates = [...this.missing].filter((index) => !this.inflight.has(index));
    if (candidates.length === 0) return false;
    const now = Date.now();
    const usable = [...this.parents.values()].filter((p) => !p.dead && p.bitfield && p.busyUntil <= now);
    const { order, availability } = rarestFirst(candidates, usable);

    // Parents just offered may have the very pieces the origin would be asked for: hear from them first.
    const awaitingParents = [...this.parents.values()].some((p) => !p.dead && !p.bitfield && now - p.addedAt < FIRST_BITFIELD_WAIT_MS);
    let started = false;
    for (const index of order) {
      if (this.inflight.size >= this.limits.maxInflight) break;
      if (availability.get(index)! > 0) {
        const parent = pickParent(usable, index, this.limits.perParent);
        if (parent) {
          this.fromParent(index, parent);
          started = true;
        }
      } else if (this.originAllowed && !awaitingParents && this.originActive < this.limits.originInflight) {
        this.fromOrigin(index);
        started = true;
      }
    }
    return started;
  }

  private fromParent(index: number, parent: ParentState): void {
    const { files, task, manifest, peers } = this.options;
    parent.inflight++;
    this.inflight.set(index, parent.info.peerId);
    const writer = files.pieceWriter(index);
    const started = Date.now();
    peers
      .piece(parent.info.addr, task.id, index, task.pieceCount, writer, this.options.credential?.(), this.controller.signal)
      .then(async (bitfield) => {
        if (bitfield) this.learn(parent, bitfield);
        const digest = await writer.finish();
        const expected = await manifest.require(index);
        // Sources publish a digest before advertising a piece, so an unverifiable piece is a bad parent.
        if (!expected) {
          throw new IntegrityError(`piece ${index} from ${parent.info.peerId} has no published digest`, {
            context: { taskId: task.id, peerId: parent.info.peerId, index },
          });
        }
        if (digest !== expected) {
          throw new IntegrityError(`piece ${index} from ${parent.info.peerId} failed verification`, {
            context: { taskId: task.id, peerId: parent.info.peerId, index },
          });
        }
        files.markVerified(index, digest);
        this.options.log.debug('piece from parent', { index, parent: parent.info.peerId, ms: Date.now() - started, chunks: writer.chunks });
        this.missing.delete(index);
        this.bytesFromPeers += writer.written;
        parent.failures = 0;
        this.options.onPiece?.(index, writer.written, false);
      })
      .catch((error) => this.parentFailed(parent, index, error))
      .finally(() => {
        parent.inflight--;
        this.inflight.delete(index);
        this.wake();
      });
  }

  private parentFailed(parent: ParentState, index: number, error: unknown): void {
    if (this.controller.signal.aborted) return;
    const peerId = parent.info.peerId;
    if (error instanceof IntegrityError) {
      this.options.log.warn('parent served a corrupt piece; dropping and reporting it', { parent: peerId, index });
      this.markBad(parent);
    } else if (error instanceof NotFoundError) {
      parent.bitfield?.clear(index);
      parent.lastWatch = 0;
      // A parent that holds the task never un-verifies a piece, so a piece it advertised moments
      // ago and now says it lacks (while the task is still there) is a lie. Eviction removes the
      // whole task, which answers differently.
      const pieceLevel = error.context.piece === true;
      if (pieceLevel && Date.now() - parent.bitfieldAt < 2_000 && ++parent.lies >= 2) {
        this.options.log.warn('parent keeps advertising pieces it does not serve; dropping and reporting it', { parent: peerId });
        this.markBad(parent);
      }
    } else if (error instanceof UnavailableError && error.context.piece === true) {
      // The parent is sending this piece to another child: get it from there, ask this parent for others.
      parent.bitfield?.clear(index);
    } else if (error instanceof UnavailableError) {
      parent.busyUntil = Date.now() + error.retryAfterMs;
    } else if (error instanceof MayflyError && error.code === 'StorageFailure') {
      this.abort(error);
    } else {
      parent.failures++;
      this.options.log.warn('piece transfer failed', { parent: peerId, index, error });
      if (parent.failures >= this.limits.maxParentFailures) this.markDead(parent);
    }
  }

  private markBad(parent: ParentState): void {
    this.badParents.add(parent.info.peerId);
    parent.dead = true;
    parent.deadUntil = Number.POSITIVE_INFINITY;
    parent.stopWatch?.abort();
  }

  /** Parents dropped for failing to deliver, still within their cool-down. */
  unreachable(): string[] {
    const now = Date.now();
    return [...this.parents.values()].filter((p) => p.dead && p.deadUntil > now && !this.badParents.has(p.info.peerId)).map((p) => p.info.peerId);
  }

  private markDead(parent: ParentState): void {
    parent.dead = true;
    parent.deadUntil = Date.now() + 30_000;
    parent.stopWatch?.abort();
  }

  private fromOrigin(index: number): void {
    const { files, task, location, origin, publisher, manifest, log } = this.options;
    this.originActive++;
    this.inflight.set(index, 'origin');
    const started = Date.now();
    origin
      .fetchPiece(task, location, () => files.pieceWriter(index), index, this.controller.signal, this.options.presignedUrl)
      .then(async (writer) => {
        const digest = await writer.finish();
        this.bytesFromOrigin += writer.written;
        log.debug('piece from origin', { index, ms: Date.now() - started, chunks: writer.chunks });
        manifest.set(index, digest);
        // The piece counts for this pull at once, but is advertised to children only once
        // its digest is published, so they can always verify it.
        files.unpublished.add(index);
        files.fromOrigin.add(index);
        files.markVerified(index, digest);
        void publisher.publish(index, digest).then((published) => {
          if (published) files.markPublished(index);
          else log.warn('digest not published; piece kept locally but not served', { index });
        });
        this.missing.delete(index);
        this.originFailures = 0;
        this.options.onPiece?.(index, writer.written, true);
      })
      .catch((error) => {
        if (this.controller.signal.aborted) return;
        if (!(error instanceof UnavailableError) || ++this.originFailures >= 3) this.abort(error);
        else log.warn('origin read failed; will retry', { index, error });
      })
      .finally(() => {
        this.originActive--;
        this.inflight.delete(index);
        this.wake();
      });
  }

  /**
   * Keeps one bitfield watch open per parent (bitfield-watch.ts): the parent
   * sends its set at once and again when it has news. Piece answers carry the
   * set too. A watch that ends or breaks is reopened after `bitfieldPollMs`.
   */
  private watchParents(): void {
    const now = Date.now();
    const { peers, task } = this.options;
    for (const parent of this.parents.values()) {
      if (parent.dead || parent.watching || parent.bitfield?.complete) continue;
      if (now - parent.lastWatch < this.limits.bitfieldPollMs) continue;
      parent.watching = true;
      parent.lastWatch = now;
      const stopWatch = (parent.stopWatch = new AbortController());
      const onBitfield = (bitfield: Bitfield) => {
        this.learn(parent, bitfield);
        // Most lines only repeat pieces this pull has; assigning work again would find nothing new.
        if (bitfield.hasAnyNotIn(this.options.files.bitfield)) this.wake();
      };
      peers
        .watchBitfield(
          parent.info.addr,
          task.id,
          task.pieceCount,
          this.options.credential?.(),
          this.limits.bitfieldPollMs,
          onBitfield,
          AbortSignal.any([this.controller.signal, stopWatch.signal]),
        )
        .catch((error) => {
          if (error instanceof NotFoundError) return; // it has not opened the task yet
          if (error instanceof UnavailableError) return; // busy, or its peer key is not there yet
          if (++parent.failures >= this.limits.maxParentFailures) this.markDead(parent);
        })
        .finally(() => {
          parent.watching = false;
          this.wake();
        });
    }
  }

  private learn(parent: ParentState, bitfield: Bitfield): void {
    parent.bitfield = bitfield;
    parent.bitfieldAt = Date.now();
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
