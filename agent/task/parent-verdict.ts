import { IntegrityError, MayflyError, NotFoundError, UnavailableError } from '../../core/errors.ts';

/** A piece the parent advertised this recently (ms) and then said it lacks counts as a lie. */
export const LIE_WINDOW_MS = 2_000;
/** Lies after which a parent is dropped and reported. */
export const MAX_LIES = 2;

/** What classify() needs to know of the parent. */
export interface ParentRecord {
  /** When its last bitfield arrived (epoch ms). */
  readonly bitfieldAt: number;
  /** Lies counted so far. */
  readonly lies: number;
}

/**
 * What one failed piece transfer means for the parent (the parent set applies it):
 * - `corrupt`: it served bytes that fail verification: drop and report it;
 * - `lied`: it keeps advertising pieces it does not serve: drop and report it;
 * - `missing`: it lacks the piece: forget that bit and ask for a fresh bitfield
 *   (`lie`: counts as one lie);
 * - `gone`: it does not hold the task at all (a task-level 404) although it was
 *   offered as a parent: stop asking it for this pull and tell the scheduler it
 *   is unreachable (not corrupt: an evicted task answers so too);
 * - `piece-busy`: it is sending this piece to another child: forget that bit,
 *   fetch the piece elsewhere, ask this parent for others;
 * - `busy`: it is out of upload slots: leave it alone until `until` (epoch ms);
 * - `fatal-local`: this agent's own disk failed: the whole pull stops;
 * - `not-parent`: the error came from the control plane or from this host (e.g. the
 *   piece's digest could not be fetched): nothing is held against the parent;
 * - `transient`: anything else (timeout, reset, refused): one more failure.
 */
export type Verdict =
  | { readonly kind: 'corrupt' }
  | { readonly kind: 'lied' }
  | { readonly kind: 'missing'; readonly lie: boolean }
  | { readonly kind: 'gone' }
  | { readonly kind: 'piece-busy' }
  | { readonly kind: 'busy'; readonly until: number }
  | { readonly kind: 'fatal-local' }
  | { readonly kind: 'not-parent' }
  | { readonly kind: 'transient' };

/**
 * Classifies a failed piece transfer from `parent` at `now` (epoch ms). Pure.
 * A parent that holds the task never un-verifies a piece, so a piece it
 * advertised moments ago and now says it lacks (a piece-level 404, the task
 * still there) is a lie. Eviction removes the whole task, which answers differently.
 */
export function classify(error: unknown, parent: ParentRecord, now: number): Verdict {
  // Slowness is not corruption: a scheduler that is slow or down says nothing about the parent.
  if (error instanceof MayflyError && error.context.controlPlane === true) return { kind: 'not-parent' };
  if (error instanceof IntegrityError) return { kind: 'corrupt' };
  if (error instanceof NotFoundError) {
    if (error.context.piece !== true) return { kind: 'gone' };
    const lie = error.context.piece === true && now - parent.bitfieldAt < LIE_WINDOW_MS;
    if (lie && parent.lies + 1 >= MAX_LIES) return { kind: 'lied' };
    return { kind: 'missing', lie };
  }
  if (error instanceof UnavailableError && error.context.piece === true) return { kind: 'piece-busy' };
  if (error instanceof UnavailableError) return { kind: 'busy', until: now + error.retryAfterMs };
  if (error instanceof MayflyError && error.code === 'StorageFailure') return { kind: 'fatal-local' };
  return { kind: 'transient' };
}
