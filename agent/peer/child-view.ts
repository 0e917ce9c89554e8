import { Bitfield } from '../../core/bitfield.ts';
import type { TaskFiles } from '../cache/task-files.ts';
import { ORIGIN_PIECE_REST_MS, SpreadTracker } from './spread-tracker.ts';

/** The state.json field (kept through TaskFiles.keep) holding pieces whose digest is not published. */
const UNPUBLISHED_FIELD = 'unpublished';
/**
 * A downloading agent sends each piece to one child at a time, so telling all its
 * watchers of a new piece at the same instant makes all but one ask in vain.
 * Lines due together go out this far apart instead: the first child takes the
 * piece, and the later lines no longer offer it.
 */
const STAGGER_MS = 80;

/**
 * What children may see of one task on this agent: verified pieces, minus
 * those read from the origin whose digest is not published yet (children could
 * not verify them), minus pieces resting for super-seeding (SpreadTracker).
 * Tells watchers when that set may have grown, and staggers their lines.
 */
export class ChildView {
  private readonly unpublished: Set<number>;
  /** Pieces this agent read from the origin in this run: the swarm's rarest (see SpreadTracker). */
  private readonly fromOrigin = new Set<number>();
  private readonly spread = new SpreadTracker();
  private readonly listeners = new Set<() => void>();
  private nextSlot = 0;

  constructor(readonly files: TaskFiles) {
    const saved = files.keep(UNPUBLISHED_FIELD, () => [...this.unpublished]);
    this.unpublished = new Set(Array.isArray(saved) ? saved.filter((index) => Number.isInteger(index)) : []);
    files.onVerified((index) => {
      if (!this.unpublished.has(index)) this.news();
    });
    // Watching children learn that the task is gone (see bitfield-watch.ts).
    files.onClosed(() => this.news());
  }

  get complete(): boolean {
    return this.files.complete;
  }

  get closed(): boolean {
    return this.files.closed;
  }

  /** Whether a child may have piece `index` at all: verified, and its digest published. */
  offers(index: number): boolean {
    return this.files.bitfield.has(index) && !this.unpublished.has(index);
  }

  /** Verified pieces read from the origin whose digest is not published (or vouched for) yet: held back from children. */
  heldBack(): number[] {
    return [...this.unpublished].filter((index) => this.files.bitfield.has(index));
  }

  /** What a child may see now. May be the live verified set: copy it before keeping it. */
  advertised(now = Date.now()): Bitfield {
    let published = this.files.bitfield;
    if (this.unpublished.size > 0) {
      published = new Bitfield(published.length, published.toBytes());
      for (const index of this.unpublished) published.clear(index);
    }
    return this.spread.filter(published, this.files.complete, (index) => this.fromOrigin.has(index), now);
  }

  /**
   * Piece `index` was read from the origin: held back until published (call
   * before TaskFiles.markVerified), and spread with care, as the swarm's only copy.
   */
  readFromOrigin(index: number): void {
    this.unpublished.add(index);
    this.fromOrigin.add(index);
    this.files.changed();
  }

  /** The digest of a piece read from the origin is published: children may have it. */
  published(index: number): void {
    if (!this.unpublished.delete(index)) return;
    this.files.changed();
    this.news();
  }

  /** Whether piece `index` may go to a child now (false: it is on its way to another, or resting); if so, counts the upload. */
  startUpload(index: number, now = Date.now()): boolean {
    return this.spread.tryStart(index, this.files.complete, this.fromOrigin.has(index), now);
  }

  /** The upload started by startUpload ended: the piece is on offer again, at once or after its rest. */
  endUpload(index: number): void {
    this.spread.finish(index);
    // A complete agent holds nothing back.
    if (this.files.complete) return;
    this.news();
    if (this.fromOrigin.has(index)) setTimeout(() => this.news(), ORIGIN_PIECE_REST_MS + 10).unref();
  }

  /** Calls `listener` whenever advertised() may have grown, and when the task closes; returns the unsubscribe function. */
  onNews(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /**
   * When a watch line with news, due at `earliest`, goes out (epoch ms): while
   * downloading, lines due together go STAGGER_MS apart, never more than one
   * `intervalMs` late (with many watchers the last ones share a slot).
   */
  lineAt(earliest: number, now: number, intervalMs: number): number {
    if (this.files.complete) return earliest;
    const at = Math.max(earliest, Math.min(this.nextSlot, now + intervalMs));
    this.nextSlot = at + STAGGER_MS;
    return at;
  }

  private news(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** Every task's child view, made on first use (one per TaskFiles, gone with it). */
export class ChildViews {
  private readonly views = new WeakMap<TaskFiles, ChildView>();

  of(files: TaskFiles): ChildView {
    let view = this.views.get(files);
    if (!view) {
      view = new ChildView(files);
      this.views.set(files, view);
    }
    return view;
  }
}
