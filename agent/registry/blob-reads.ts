import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { IntegrityError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { parseByteRange, piecesForRange, type ByteRange } from '../../core/piece-math.ts';
import { readCheckedPiece } from '../cache/piece-check.ts';
import type { PullResult, TaskManager } from '../task/task-manager.ts';
import type { TaskSession } from '../task/task-session.ts';
import { BlobDigestMismatchError } from './mismatched-blobs.ts';

export interface BlobReadsOptions {
  readonly tasks: Pick<TaskManager, 'pull' | 'open' | 'forget'>;
  readonly log: Logger;
}

/** How a blob was served, for the log and the caller. */
export interface BlobRead {
  readonly status: 200 | 206;
  readonly bytes: number;
  readonly pull?: PullResult;
}

/**
 * A registry blob served from the swarm. Every read, whole or `Range` (containerd resumes an
 * interrupted pull with `bytes=N-`), first pulls every piece and checks the blob against its
 * digest before the first byte leaves: a blob's piece digests are attested by a fleet host
 * (its lease holder), so only the blob digest vouches for any byte. A blob that fails is
 * dropped and never served. Any failure before the status line is thrown, so the mirror can
 * answer from the registry.
 */
export class BlobReads {
  /** Task ids whose whole blob matched its digest. */
  private readonly verified = new Set<string>();

  constructor(private readonly options: BlobReadsOptions) {}

  async serve(taskUrl: string, digest: string, rangeHeader: string | undefined, method: 'GET' | 'HEAD', res: ServerResponse): Promise<BlobRead> {
    const { tasks } = this.options;
    const pull = (await tasks.pull(taskUrl)).result;
    const session = await tasks.open(taskUrl);
    const { task } = session;
    const range = parseByteRange(rangeHeader, task.size) ?? { start: 0, end: task.size };
    const release = session.use();
    try {
      const pieces = piecesForRange(range, task.size, task.pieceLength);
      await this.check(session, digest);
      const partial = rangeHeader !== undefined;
      res.writeHead(partial ? 206 : 200, {
        'content-type': 'application/octet-stream',
        'content-length': String(range.end - range.start),
        'docker-content-digest': digest,
        'accept-ranges': 'bytes',
        ...(partial ? { 'content-range': `bytes ${range.start}-${range.end - 1}/${task.size}` } : {}),
      });
      if (method === 'GET') await this.send(session, pieces, range, res);
      res.end();
      return { status: partial ? 206 : 200, bytes: range.end - range.start, pull };
    } finally {
      release();
    }
  }

  /**
   * Checks a pulled blob against its digest without serving it (a seed's image preheat,
   * blob-preheat.ts). Errors: BlobDigestMismatchError (an IntegrityError) when it does not match (the task is dropped).
   */
  async verify(taskUrl: string, digest: string): Promise<void> {
    const session = await this.options.tasks.open(taskUrl);
    const release = session.use();
    try {
      await this.check(session, digest);
    } finally {
      release();
    }
  }

  /** The whole blob's sha256 against the digest it is named by (once per task). */
  private async check(session: TaskSession, digest: string): Promise<void> {
    const { task, files } = session;
    if (this.verified.has(task.id)) return;
    const hash = createHash('sha256');
    for (let index = 0; index < task.pieceCount; index++) hash.update(await this.piece(session, index));
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== digest) {
      this.options.log.error('registry blob does not match its digest: dropped, not served', { taskId: task.id, digest, actual });
      this.options.tasks.forget(task.id);
      files.touch();
      throw new BlobDigestMismatchError(`blob ${digest} assembled from the swarm hashes to ${actual}`, { context: { taskId: task.id } });
    }
    this.verified.add(task.id);
  }

  private async send(session: TaskSession, pieces: readonly number[], range: ByteRange, res: ServerResponse): Promise<void> {
    for (const index of pieces) {
      if (res.destroyed) return;
      const bytes = await this.piece(session, index);
      const { start } = session.files.range(index);
      const chunk = bytes.subarray(Math.max(range.start - start, 0), Math.min(range.end - start, bytes.length));
      if (!res.write(chunk)) await new Promise<void>((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
    }
  }

  /** A verified piece, checked again as it leaves the cache; fetched again once if the disk changed it. */
  private async piece(session: TaskSession, index: number): Promise<Buffer> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const bytes = await readCheckedPiece(session.files, index);
      if (bytes) return bytes;
      await session.ensure([index]);
    }
    throw new IntegrityError(`piece ${index} keeps failing its check in the cache`, { context: { taskId: session.task.id, index } });
  }
}
