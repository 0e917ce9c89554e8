import type { TaskSession } from './task-session.ts';

/** Where a pull stands, as the local API streams it to `mayfly get` (bytes). */
export interface PullProgress {
  readonly taskId: string;
  readonly size: number;
  readonly completedBytes: number;
  readonly bytesFromPeers: number;
  readonly bytesFromOrigin: number;
  /** Bytes received of pieces still being checked: a bar moves within a piece. */
  readonly receivingBytes?: number;
  /** Before the first byte: what the pull waits for ("waiting for the seed"). */
  readonly waiting?: string;
}

export interface PullResult extends PullProgress {
  readonly url: string;
  readonly seconds: number;
  /** Served entirely from this agent's cache. */
  readonly cached: boolean;
  /** The scheduler could not be reached; the agent read S3 directly. */
  readonly direct: boolean;
}

/** The pull progress of a session now: verified bytes, bytes still being checked, and what it waits for before the first byte. */
export function progressOf(session: TaskSession): PullProgress {
  const { files, downloader } = session;
  const completedBytes = files.completedBytes;
  const receivingBytes = Math.min(files.receivingBytes, session.task.size - completedBytes);
  return {
    taskId: session.task.id,
    size: session.task.size,
    completedBytes,
    bytesFromPeers: downloader.bytesFromPeers,
    bytesFromOrigin: downloader.bytesFromOrigin,
    receivingBytes,
    ...(completedBytes + receivingBytes === 0 && session.task.size > 0 ? { waiting: downloader.waitingFor } : {}),
  };
}
