import type { TaskSession } from './task-session.ts';

/** What a session reports to its owner (the task manager): one object for every session. */
export interface TaskEvents {
  /** Piece `index` was verified (`bytes` long, read from the origin or from a parent). */
  piece(session: TaskSession, index: number, bytes: number, fromOrigin: boolean): void;
  /** Every piece is verified, and children can verify each (digests published, 'finished' announced). */
  complete(session: TaskSession): void;
  /** The pull stopped for good (the session announced 'failed'). */
  failed(session: TaskSession, error: unknown): void;
  /** The last pull or read of an unfinished task let go (Ctrl-C): nobody here wants the rest. */
  abandoned(session: TaskSession): void;
}

/** What a downloader reports to its session. */
export interface DownloadEvents {
  piece(index: number, bytes: number, fromOrigin: boolean): void;
  /** No parent has anything the pull needs: the session announces at once. */
  starved(): void;
  /** No verified piece for the progress deadline: re-announce, or (`origin`) read the origin if the fallback admits it. */
  stalled(step: 'reannounce' | 'origin'): void;
  /**
   * Whether the stall is the control plane's now: announces unanswered, or digests still pending
   * for pieces a source holds (vouching-wait.ts). The progress deadline does not run meanwhile.
   */
  controlPlaneBehind(): boolean;
}
