import { createHash, type Hash } from 'node:crypto';
import { ConflictError, UnavailableError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { DigestJob, ObjectRangeReader } from '../domain/digest.ts';
import type { ManifestStore } from '../domain/manifest.ts';
import type { TaskStore } from '../domain/task.ts';
import { METRICS, type MetricEmitter } from '../shared/metrics.ts';
import type { ManifestIncidents } from './incidents.ts';

export interface DigestServiceOptions {
  readonly reader: ObjectRangeReader;
  readonly manifests: ManifestStore;
  readonly tasks: TaskStore;
  readonly incidents: ManifestIncidents;
  readonly log: Logger;
  readonly metrics?: MetricEmitter;
}

/** What one job did. */
export interface DigestRun {
  readonly pieces: number;
  /** Bytes read from S3. */
  readonly bytes: number;
  /** 'match' / 'mismatch' when S3 held a full-object SHA-256 and it was checked; 'none' otherwise. */
  readonly checksum: 'match' | 'mismatch' | 'none';
}

/**
 * The control plane's own piece digests of an S3 task: reads the job's range
 * with one ranged GET pinned to the task's version, hashes each piece as it
 * streams past (no piece is buffered), and stores each digest as soon as it is
 * known, marked as vouched for by the origin. A job that checks the object also
 * reads the rest of it when S3 stored a full-object SHA-256, and compares.
 * Once every piece has a digest, a re-derivation's quarantine is lifted.
 */
export class DigestService {
  constructor(private readonly options: DigestServiceOptions) {}

  async run(job: DigestJob): Promise<DigestRun> {
    const { reader, log, metrics } = this.options;
    const expected = job.checkObject ? (await reader.checksum(job)).sha256 : undefined;
    const lastPiece = job.first + job.count;
    const start = expected ? 0 : job.first * job.pieceLength;
    const end = expected ? job.size : Math.min(job.size, lastPiece * job.pieceLength);
    const whole = expected ? createHash('sha256') : undefined;
    let offset = start;
    let piece = Math.floor(start / job.pieceLength);
    let hash: Hash = createHash('sha256');
    let pieces = 0;
    for await (const chunk of reader.read(job, start, end)) {
      whole?.update(chunk);
      for (let at = 0; at < chunk.length; ) {
        const pieceEnd = Math.min(job.size, (piece + 1) * job.pieceLength);
        const take = Math.min(chunk.length - at, pieceEnd - offset);
        const mine = piece >= job.first && piece < lastPiece;
        if (mine) hash.update(chunk.subarray(at, at + take));
        at += take;
        offset += take;
        if (offset < pieceEnd) continue;
        if (mine) {
          await this.store(job, piece, hash.digest('hex'));
          pieces++;
        }
        piece++;
        hash = createHash('sha256');
      }
    }
    if (offset !== end) throw new UnavailableError(`digest read of task ${job.taskId} ended at byte ${offset} of ${end}`, { context: { taskId: job.taskId } });
    metrics?.emit({ [METRICS.digestBytes]: { value: end - start, unit: 'Bytes' } }, { taskId: job.taskId, first: job.first, count: job.count });
    let checksum: DigestRun['checksum'] = 'none';
    if (expected && whole) {
      const actual = whole.digest('base64');
      checksum = actual === expected ? 'match' : 'mismatch';
      if (checksum === 'mismatch') await this.incident(job, 'checksum', { expected, actual });
    }
    if (checksum !== 'mismatch') await this.liftWhenComplete(job);
    log.info('digests computed', { taskId: job.taskId, first: job.first, count: job.count, bytes: end - start, checksum });
    return { pieces, bytes: end - start, checksum };
  }

  private async store(job: DigestJob, piece: number, digest: string): Promise<void> {
    try {
      await this.options.manifests.put(job.taskId, new Map([[piece, digest]]), 'origin');
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      await this.incident(job, 'conflict', { piece, digest });
    }
  }

  private async incident(job: DigestJob, reason: 'conflict' | 'checksum', context: Record<string, unknown>): Promise<void> {
    const task = await this.options.tasks.getTask(job.taskId);
    if (task) await this.options.incidents.raise(task, reason, { ...context, source: 'digest-service' });
  }

  /** A quarantine for re-derivation ends once every piece has a control-plane digest again (a checksum one never does). */
  private async liftWhenComplete(job: DigestJob): Promise<void> {
    const task = await this.options.tasks.getTask(job.taskId);
    if (!task?.quarantine || task.quarantine.reason === 'checksum' || task.digestCount < task.pieceCount) return;
    await this.options.tasks.setQuarantine(job.taskId, undefined);
    this.options.log.info('quarantine lifted: manifest derived again', { taskId: job.taskId });
  }
}
