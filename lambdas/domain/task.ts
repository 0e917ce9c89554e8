import type { PackMember } from '../../core/pack.ts';
import type { ParentReport } from './parent-reports.ts';

/** A task (one version of one object) as the single table holds it, and the store of tasks. */

/** Which task a URL resolved to, and when its origin was last asked. */
export interface UrlRecord {
  readonly url: string;
  readonly taskId: string;
  /** Epoch ms of the HEAD that pinned this version. */
  readonly checkedAt: number;
}

export interface TaskRecord {
  readonly id: string;
  readonly url: string;
  readonly etag: string;
  /** Bytes. */
  readonly size: number;
  readonly pieceLength: number;
  readonly pieceCount: number;
  /** Piece digests published so far. */
  readonly digestCount: number;
  /** Registrations counted (sampled past the first 64 peers). */
  readonly peerCount: number;
  /** Partitions the task's peers are spread over. */
  readonly shards: number;
  readonly createdAt: number;
  /** Reports of parents caught serving bad data, weighed by domain/parent-reports.ts. */
  readonly reports: readonly ParentReport[];
  /** Set while the task's manifest is distrusted (see Quarantine); absent for a healthy task. */
  readonly quarantine?: Quarantine;
  /** A pack's members (core/pack.ts): the task is their concatenation, each pinned to its ETag. */
  readonly pack?: PackRecord;
}

/** What a pack task is made of: objects of one bucket, in key order. */
export interface PackRecord {
  readonly bucket: string;
  readonly members: readonly PackMember[];
}

/**
 * Why and until when a task's manifest is distrusted: announces then hand out no
 * parents, every puller reads the origin itself, and the manifest is re-derived.
 * `conflict`: two attestations of one piece disagreed; `incident`: a lease holder
 * read bytes other than the vouched digest; `checksum`: S3's own full-object
 * SHA-256 disagrees with what the control plane read (never lifted for this task).
 */
export interface Quarantine {
  readonly reason: 'conflict' | 'incident' | 'checksum';
  /** Epoch ms after which the quarantine no longer applies (the digest service may lift it sooner). */
  readonly until: number;
}

/** Whether `task` is quarantined at `now`. */
export function quarantined(task: Pick<TaskRecord, 'quarantine'>, now: number): boolean {
  return task.quarantine !== undefined && task.quarantine.until > now;
}

/** Errors: UnavailableError (with retryAfterMs) when the state store throttles or is down. */
export interface TaskStore {
  getUrl(url: string): Promise<UrlRecord | undefined>;
  putUrl(record: UrlRecord): Promise<void>;
  getTask(taskId: string): Promise<TaskRecord | undefined>;
  /** Creates the task unless it exists; returns what is stored. */
  createTask(task: TaskRecord): Promise<TaskRecord>;
  /** Counts `count` newly registered peers and widens the shard count when due. ConflictError for an unknown task. */
  addPeer(taskId: string, peersPerShard: number, maxShards: number, count?: number): Promise<void>;
  /** The most recently created tasks, newest first. */
  listTasks(limit: number): Promise<TaskRecord[]>;
  /** Adds reports about parents (ConflictError for an unknown task). */
  report(taskId: string, reports: readonly ParentReport[]): Promise<void>;
  /** Drops reports (expired ones). */
  forgetReports(taskId: string, reports: readonly ParentReport[]): Promise<void>;
  /** Sets (or, with undefined, lifts) the task's quarantine. */
  setQuarantine(taskId: string, quarantine: Quarantine | undefined): Promise<void>;
}
