import { UnavailableError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { OriginLocation } from '../../core/origin-url.ts';
import type { TaskInfo } from '../../core/wire/scheduler.ts';
import type { TaskFiles } from '../cache/task-files.ts';
import type { OriginFetcher } from '../origin/origin-fetcher.ts';
import type { ChildView } from '../peer/child-view.ts';
import type { DigestSink } from './digest-publisher.ts';
import { HeldBackPieces } from './held-back-pieces.ts';
import type { Manifest } from './manifest.ts';
import { PacedReads } from './outage-pace.ts';

/** Transient origin failures in a row after which the pull stops. */
const MAX_ORIGIN_FAILURES = 3;

export interface OriginPiecesOptions {
  readonly task: TaskInfo;
  readonly location: OriginLocation;
  readonly files: TaskFiles;
  readonly view: ChildView;
  readonly origin: OriginFetcher;
  /** Publishes (HTTP(S): attests) or checks against the vouched digest (S3) each piece read. */
  readonly publisher: DigestSink;
  readonly manifest: Manifest;
  readonly log: Logger;
  /** Origin reads at once. */
  readonly inflight: number;
}

/**
 * Back-to-source for one pull, while the scheduler grants it: reads a piece
 * from the origin, counts it for this pull at once, publishes its digest and
 * only then advertises it to children (so they can always verify it).
 */
export class OriginPieces {
  bytes = 0;
  private allowed = false;
  /** A stuck pull reads the origin without a grant (progress-deadline.ts); the scheduler's answers do not withdraw it. */
  private fallingBack = false;
  /** Reading without the scheduler, piece by piece (outage-pace.ts), until it answers (allow()). */
  private paced?: PacedReads;
  private presignedUrl?: string;
  private active = 0;
  private failures = 0;
  private readonly reread = new Set<number>();
  /** Pieces read in a direct pull (the scheduler unreachable), held back from children until checked. */
  private readonly heldBack: HeldBackPieces;
  /** Pieces read in this run whose digest is being published or checked. */
  private readonly checking = new Set<number>();

  constructor(private readonly options: OriginPiecesOptions) {
    this.heldBack = new HeldBackPieces({ files: options.files, view: options.view, sink: options.publisher, log: options.log });
  }

  /**
   * The scheduler's grant (or, in direct mode, this agent's own); `presignedUrl` replaces the last one issued, if given.
   * The scheduler answered: pieces a direct pull held back can be checked against its digests now.
   */
  allow(allowed: boolean, presignedUrl?: string): void {
    this.heldBack.vouch((index) => this.checking.has(index));
    if (presignedUrl) this.presignedUrl = presignedUrl;
    if (allowed !== this.allowed) this.options.log.info(allowed ? 'back-to-source enabled' : 'back-to-source withdrawn');
    this.allowed = allowed;
    // The scheduler answered: its grant (and the swarm) decide from now on.
    if (this.paced) this.options.log.info('scheduler answered: reading the origin only if granted');
    this.paced = undefined;
  }

  /** Reads the origin without the scheduler, piece by piece at the outage pace, until the scheduler answers. */
  pace(): void {
    if (this.allowed || this.paced) return;
    this.options.log.info('back-to-source enabled without the scheduler: piece by piece while it is asked again');
    this.paced = new PacedReads(Date.now());
  }

  /** Reading without the scheduler (pace()), which has not answered since. */
  get pacing(): boolean {
    return this.paced !== undefined;
  }

  /** Whether the scheduler (or direct mode) lets this agent read the origin. */
  get granted(): boolean {
    return this.allowed;
  }

  /** Starts or ends the direct fallback of a stuck pull. */
  fallBack(on: boolean): void {
    if (on && !this.fallingBack && !this.allowed) this.options.log.info('back-to-source enabled: the pull made no progress');
    this.fallingBack = on;
  }

  /** Whether another origin read may start now. */
  get available(): boolean {
    if (this.allowed || this.fallingBack) return this.active < this.options.inflight;
    return this.paced?.mayStart(Date.now(), this.active) ?? false;
  }

  /**
   * Reads piece `index` and marks it verified. Resolves with its length, or
   * undefined when it was not read (a transient failure, retried later; or the
   * pull was aborted); rejects when the pull must stop.
   */
  async fetch(index: number, signal: AbortSignal): Promise<number | undefined> {
    const { files, task, location, origin, publisher, manifest, view, log } = this.options;
    if (!this.allowed && !this.fallingBack) this.paced?.count();
    this.active++;
    const started = Date.now();
    try {
      const writer = await origin.fetchPiece(task, location, () => files.pieceWriter(index), index, signal, () => this.presignedUrl);
      const digest = await writer.finish();
      this.bytes += writer.written;
      log.debug('piece from origin', { index, ms: Date.now() - started, chunks: writer.chunks });
      // An attested digest is the task's own; a checked one only enters the manifest once vouched for.
      if (publisher.attests) manifest.set(index, digest);
      // The piece counts for this pull at once, but children see it only once its digest is published (or vouched for).
      view.readFromOrigin(index);
      files.markVerified(index, digest);
      this.checking.add(index);
      void publisher.publish(index, digest).then((published) => {
        this.checking.delete(index);
        if (published) view.published(index);
        else log.warn('digest not published; piece kept locally but not served', { index });
      });
      this.failures = 0;
      return writer.written;
    } catch (error) {
      if (signal.aborted) return undefined;
      if (!(error instanceof UnavailableError) || ++this.failures >= MAX_ORIGIN_FAILURES) throw error;
      log.warn('origin read failed; will retry', { index, error });
      return undefined;
    } finally {
      this.active--;
    }
  }

  /**
   * Piece `index` read from the origin differs from the vouched digest: read it once more (it stays
   * unserved until a read matches). A second mismatch leaves it local, never served.
   */
  readAgain(index: number): void {
    if (this.reread.has(index)) return;
    this.reread.add(index);
    void this.fetch(index, new AbortController().signal).catch((error) => this.options.log.warn('reading a mismatching piece again failed', { index, error }));
  }

  /** Waits until the digests of pieces read so far are published (or given up on). */
  settled(): Promise<void> {
    return this.options.publisher.drain();
  }
}
