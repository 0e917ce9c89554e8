import { randomBytes } from 'node:crypto';
import type { PreheatState } from '../../core/wire/manager.ts';

export type PreheatSource = 'api' | 's3-event' | 'seed-trigger' | 'ecr-event';

/** A preheat job: put one object on the seeds of some sites before anyone asks for it. */
export interface PreheatJob {
  readonly id: string;
  readonly cluster: string;
  readonly url: string;
  /** Sites whose seeds must pull it; empty: any one seed. */
  readonly sites: readonly string[];
  readonly source: PreheatSource;
  readonly state: PreheatState;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** site → seed that finished it there. */
  readonly doneBy: Readonly<Record<string, string>>;
  readonly taskId?: string;
  readonly error?: string;
  /**
   * `prefix`: one job for every object under a prefix (`url` is the prefix), done object by object in `items`;
   * `image`: one job for an image (`url` is its manifest's URL), one item per blob (config and layers).
   */
  readonly kind?: 'object' | ItemsJobKind;
  /** A prefix job's objects and how far each is (GET of one job only; a list gives the counts). */
  readonly items?: readonly PreheatItem[];
  /** A prefix job's progress: objects, objects done and failed, their bytes (sizes from the listing). */
  readonly itemCount?: number;
  readonly itemsDone?: number;
  readonly itemsFailed?: number;
  readonly bytes?: number;
  readonly bytesDone?: number;
}

/** The kinds of job whose work is done item by item (lambdas/stores/preheat-items.ts). */
export type ItemsJobKind = 'prefix' | 'image';

/** Whether a stored job kind is one done item by item. */
export function isItemsJobKind(kind: string | undefined): kind is ItemsJobKind {
  return kind === 'prefix' || kind === 'image';
}

/**
 * One object (or image blob) of an items job. Seeds are handed items like jobs (their id is
 * the job's id, `_` and the index), so the heartbeat and the state machine
 * (preheat-job.ts) are the same for both.
 */
export interface PreheatItem {
  readonly id: string;
  readonly url: string;
  /** The object's size in bytes, from the listing. */
  readonly bytes: number;
  readonly state: PreheatState;
  readonly updatedAt: number;
  /** site → seed that finished it there. */
  readonly doneBy: Readonly<Record<string, string>>;
  readonly taskId?: string;
  readonly error?: string;
}

/** An item's id: `<jobId>_<index:6>` (a job id itself never holds `_`, see newPreheatJobId). */
export function preheatItemId(jobId: string, index: number): string {
  return `${jobId}_${index.toString().padStart(6, '0')}`;
}

/** The job and index an item id names; undefined for a job's own id. */
export function parsePreheatItemId(id: string): { jobId: string; index: number } | undefined {
  const match = /^([A-Za-z0-9-]+)_(\d{6})$/.exec(id);
  return match ? { jobId: match[1], index: Number(match[2]) } : undefined;
}

/** A job while it is open: what a seed's heartbeat reads to find work. */
export interface QueuedPreheat {
  readonly id: string;
  readonly url: string;
  readonly sites: readonly string[];
  /** Sites a seed already finished it at. */
  readonly doneSites: readonly string[];
}

/** A job id: creation time (base 36, so ids sort by age) and 40 random bits. */
export function newPreheatJobId(now: number): string {
  return `${now.toString(36).padStart(9, '0')}-${randomBytes(5).toString('hex')}`;
}

/**
 * Preheat jobs and their queue. The store persists; which state follows which
 * is decided in preheat-job.ts. Errors: UnavailableError (with retryAfterMs)
 * when the state store throttles or is down.
 */
export interface PreheatStore {
  /**
   * Stores a new job and queues it; with `items` (a prefix or image job, by `job.kind`), queues each
   * item instead, and the job's state follows its items (preheat-job.ts, prefixJobState).
   */
  create(job: PreheatJob, items?: readonly { url: string; bytes: number }[]): Promise<void>;
  /** A job (with its items, for a prefix job), or one item by its item id. */
  get(cluster: string, id: string): Promise<PreheatJob | undefined>;
  /** Newest first. */
  list(cluster: string, limit: number): Promise<PreheatJob[]>;
  /** Open jobs of `cluster`, oldest first. */
  queued(cluster: string, limit?: number): Promise<QueuedPreheat[]>;
  /** A lease for one seed per site, renewed by its holder; true when `peerId` holds it. */
  claim(cluster: string, id: string, site: string, peerId: string, leaseMs: number, now: number): Promise<boolean>;
  /** Records that `peerId` holds the object at `site`; the updated job, or undefined for an unknown (expired) job. */
  recordSiteDone(cluster: string, id: string, site: string, peerId: string, taskId: string | undefined, now: number): Promise<PreheatJob | undefined>;
  /** Marks `site` done on the open job, so that site's seeds are not handed it again. */
  markQueuedSiteDone(cluster: string, id: string, site: string, peerId: string): Promise<void>;
  /** Moves the job to `to` if preheat-job.ts allows it from the stored state; false otherwise. `reason` with `failed`. */
  transition(cluster: string, id: string, to: PreheatState, now: number, reason?: string): Promise<boolean>;
  /** Takes the job off the queue (done or failed). */
  dequeue(cluster: string, id: string): Promise<void>;
  /**
   * The job that asks a seed of `site` to fetch `taskId`, opened once per
   * (cluster, task, site). Returns when it was first opened.
   */
  trigger(cluster: string, taskId: string, site: string, url: string, now: number): Promise<{ jobId: string; createdAt: number; created: boolean }>;
}
