import { MayflyError, NotFoundError, UnavailableError } from '../core/errors.ts';
import { canonicalOriginUrl, parseOriginUrl } from '../core/origin-url.ts';
import type { AgentMetrics } from './metrics.ts';
import { OriginFetcher } from './origin/origin-fetcher.ts';
import { PeerClient } from './peer/peer-client.ts';
import { TaskManager, type TaskManagerOptions } from './task/task-manager.ts';

/**
 * Counting decorators over the data path, so metrics need no hooks inside
 * the downloader: every piece from a peer or from S3 passes through these.
 */
export class MeteredPeerClient extends PeerClient {
  constructor(private readonly metrics: AgentMetrics, ...options: ConstructorParameters<typeof PeerClient>) {
    super(...options);
  }

  override async piece(...args: Parameters<PeerClient['piece']>): ReturnType<PeerClient['piece']> {
    const writer = args[4];
    try {
      const bitfield = await super.piece(...args);
      this.metrics.piecesFromPeers++;
      this.metrics.bytesFromPeers += writer.written;
      return bitfield;
    } catch (error) {
      // "Not here" and "busy" are ordinary answers, not failures.
      if (!(error instanceof NotFoundError) && !(error instanceof UnavailableError) && !isAbort(error)) this.metrics.pieceFailures++;
      throw error;
    }
  }
}

export class MeteredOriginFetcher extends OriginFetcher {
  constructor(private readonly metrics: AgentMetrics, ...options: ConstructorParameters<typeof OriginFetcher>) {
    super(...options);
  }

  override async fetchPiece(...args: Parameters<OriginFetcher['fetchPiece']>): ReturnType<OriginFetcher['fetchPiece']> {
    try {
      const writer = await super.fetchPiece(...args);
      this.metrics.piecesFromOrigin++;
      this.metrics.bytesFromOrigin += writer.written;
      return writer;
    } catch (error) {
      if (!isAbort(error)) this.metrics.originFailures++;
      throw error;
    }
  }
}

/** Counts pulls, and the objects being pulled right now. */
export class MeteredTaskManager extends TaskManager {
  private readonly running = new Map<string, number>();

  constructor(private readonly metrics: AgentMetrics, options: TaskManagerOptions) {
    super(options);
  }

  get activeTasks(): number {
    return this.running.size;
  }

  override pull(...args: Parameters<TaskManager['pull']>): ReturnType<TaskManager['pull']> {
    return this.counted(args[0], () => super.pull(...args));
  }

  /** A pull, or a read that pulls (the S3 endpoint's GetObject): counted once while it runs. */
  override async counted<T>(url: string, work: () => Promise<T>): Promise<T> {
    let key: string;
    try {
      key = canonicalOriginUrl(parseOriginUrl(url));
    } catch {
      return work(); // let the manager report the bad URL
    }
    this.metrics.pullsStarted++;
    this.running.set(key, (this.running.get(key) ?? 0) + 1);
    try {
      return await work();
    } catch (error) {
      this.metrics.pullsFailed++;
      throw error;
    } finally {
      const left = (this.running.get(key) ?? 1) - 1;
      if (left > 0) this.running.set(key, left);
      else this.running.delete(key);
    }
  }
}

function isAbort(error: unknown): boolean {
  return (error as { name?: string })?.name === 'AbortError' || (error instanceof MayflyError && /abort/i.test(error.message));
}
