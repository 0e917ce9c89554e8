import { UnavailableError } from '../../core/errors.ts';
import { canonicalOriginUrl, parseOriginUrl, type OriginLocation } from '../../core/origin-url.ts';
import type { AnnounceResponse, TaskInfo } from '../../core/wire/scheduler.ts';
import { taskInfoOf } from '../../core/task-info.ts';
import { Announcer, type PeerIdentity } from '../control/announcer.ts';
import { Manifest } from './manifest.ts';
import type { PieceMirror, PieceStore, TaskFiles } from '../cache/piece-store.ts';
import { TaskSession, type SessionDeps } from './task-session.ts';

export interface PullProgress {
  readonly taskId: string;
  readonly size: number;
  readonly completedBytes: number;
  readonly bytesFromPeers: number;
  readonly bytesFromOrigin: number;
}

export interface PullResult extends PullProgress {
  readonly url: string;
  readonly seconds: number;
  /** Served entirely from this agent's cache. */
  readonly cached: boolean;
  /** The scheduler could not be reached; the agent read S3 directly. */
  readonly direct: boolean;
}

export interface TaskManagerOptions extends SessionDeps {
  readonly store: PieceStore;
  readonly identity: PeerIdentity;
}

/**
 * Finds or starts the session of a URL's current task. Concurrent pulls of
 * one task share one session (single flight); finished tasks keep being
 * announced so other agents can use them.
 */
export class TaskManager {
  private readonly sessions = new Map<string, TaskSession>();
  private readonly opening = new Map<string, Promise<TaskSession>>();
  private readonly progressListeners = new Map<string, Set<(progress: PullProgress) => void>>();

  constructor(private readonly options: TaskManagerOptions) {}

  /**
   * Resolves the URL to its task (one announce) and returns the task's session. A lookup
   * (metadata only, e.g. a HEAD) joins no swarm: the scheduler records no peer and grants
   * no back-to-source, so a host that only looks never holds up one that pulls.
   */
  open(url: string, intent: 'pull' | 'lookup' = 'pull'): Promise<TaskSession> {
    const location = parseOriginUrl(url);
    const canonical = canonicalOriginUrl(location);
    const key = `${intent} ${canonical}`;
    let pending = this.opening.get(key);
    if (!pending) {
      pending = this.start(location, canonical, intent).finally(() => this.opening.delete(key));
      this.opening.set(key, pending);
    }
    return pending;
  }

  /**
   * Fetches every piece of `url`'s object. `openOutput`, once the task and its
   * cache file are known, opens the pull's output file, which then receives every
   * piece written (unless it returns no mirror: the output is then made at the end).
   */
  async pull(
    url: string,
    onProgress?: (progress: PullProgress) => void,
    openOutput?: (task: TaskInfo, dataPath: string) => Promise<PieceMirror | undefined>,
  ): Promise<{ result: PullResult; files: TaskFiles }> {
    const started = Date.now();
    const session = await this.open(url);
    const { files, task } = session;
    const output = await openOutput?.(task, files.dataPath);
    if (output) files.addMirror(output);
    const before = files.completedBytes;
    const peersBefore = session.downloader.bytesFromPeers;
    const originBefore = session.downloader.bytesFromOrigin;
    const listeners = this.listenersOf(task.id);
    if (onProgress) listeners.add(onProgress);
    files.users++;
    try {
      await session.ensure(Array.from({ length: task.pieceCount }, (_, i) => i));
    } finally {
      if (output) files.removeMirror(output);
      files.users--;
      if (onProgress) listeners.delete(onProgress);
      if (listeners.size === 0) this.progressListeners.delete(task.id);
    }
    files.touch();
    const progress = {
      ...this.progress(session),
      // Bytes this pull moved; a cached or shared task reports only what arrived meanwhile.
      bytesFromPeers: session.downloader.bytesFromPeers - peersBefore,
      bytesFromOrigin: session.downloader.bytesFromOrigin - originBefore,
    };
    onProgress?.(progress);
    return {
      files,
      result: { ...progress, url: task.url, seconds: (Date.now() - started) / 1000, cached: before === task.size, direct: session.direct },
    };
  }

  /** Announce every complete cached task, so a restarted agent keeps serving. */
  resumeSeeding(): void {
    for (const files of this.options.store.list()) {
      if (!files.complete || this.sessions.has(files.task.id)) continue;
      const location = parseOriginUrl(files.task.url);
      const session = this.createSession(files.task, location, files, this.newAnnouncer(files.task.url, () => session));
      session.seed(true);
    }
  }

  /** Sessions by task id (for stats and eviction). */
  session(taskId: string): TaskSession | undefined {
    return this.sessions.get(taskId);
  }

  forget(taskId: string): void {
    this.sessions.get(taskId)?.stop();
    this.sessions.delete(taskId);
  }

  async shutdown(): Promise<void> {
    const { identity, scheduler } = this.options;
    const leaving = [...this.sessions.values()].map((session) => {
      session.stop();
      if (session.direct) return Promise.resolve();
      return scheduler.leave(session.task.id, identity.peerId, identity.site).catch(() => {});
    });
    this.sessions.clear();
    await Promise.race([Promise.all(leaving), new Promise((resolve) => setTimeout(resolve, 1000))]);
  }

  private async start(location: OriginLocation, url: string, intent: 'pull' | 'lookup'): Promise<TaskSession> {
    let session: TaskSession | undefined;
    const announcer = this.newAnnouncer(url, () => session);
    let answer: AnnounceResponse | undefined;
    try {
      answer = await announcer.announce(intent === 'lookup' ? 'lookup' : this.hasSessionFor(url) ? 'progress' : 'register');
    } catch (error) {
      if (!(error instanceof UnavailableError)) throw error;
      this.options.log.warn('scheduler unavailable; pulling straight from the origin', { url, error });
    }
    const task = answer?.task ?? (await this.directTask(location, url));
    const existing = this.sessions.get(task.id);
    if (existing && !existing.failed) {
      // A direct session keeps going without the swarm; it is dropped when done.
      // A lookup's answer carries no parents and no grant: it must not withdraw a running pull's.
      if (answer && !existing.direct && intent === 'pull') {
        existing.onAnswer(answer);
        existing.joined = true;
      }
      return existing;
    }
    const files = await this.options.store.open(task);
    session = this.createSession(task, location, files, answer ? announcer : undefined);
    if (answer) session.onAnswer(answer);
    if (answer && intent === 'pull') session.joined = true;
    this.sessions.set(task.id, session);
    return session;
  }

  private createSession(task: TaskInfo, location: OriginLocation, files: TaskFiles, announcer: Announcer | undefined): TaskSession {
    const { scheduler } = this.options;
    const log = this.options.log.child({ taskId: task.id });
    if (announcer) announcer.taskId = task.id;
    const manifest = new Manifest(async () => (announcer ? (await scheduler.manifest(task.id)).digests : {}));
    for (const [index, digest] of files.digests) manifest.set(index, digest);
    const session: TaskSession = new TaskSession({
      ...this.options,
      task,
      location,
      files,
      manifest,
      announcer,
      log,
      onComplete: (done) => {
        log.info('task complete', { bytesFromPeers: done.downloader.bytesFromPeers, bytesFromOrigin: done.downloader.bytesFromOrigin });
        // A direct pull ends here; the next pull announces the cached task to the swarm.
        if (done.direct) this.sessions.delete(task.id);
        else done.seed();
      },
      onFailed: (failed, error) => {
        log.warn('pull failed', { error });
        if (this.sessions.get(task.id) === failed) this.sessions.delete(task.id);
      },
      onPeerAuth: () => this.options.store.requirePeerAuth(),
      onPiece: () => {
        const listeners = this.progressListeners.get(task.id);
        if (listeners?.size) {
          const progress = this.progress(session);
          for (const listener of listeners) listener(progress);
        }
      },
    });
    return session;
  }

  private newAnnouncer(url: string, session: () => TaskSession | undefined): Announcer {
    const { scheduler, identity, log } = this.options;
    return new Announcer({
      client: scheduler,
      identity,
      url,
      log,
      onAnswer: (answer) => session()?.onAnswer(answer),
      state: () =>
        session()?.state() ?? { completed: 0, digestsKnown: 0, bytesFromPeers: 0, bytesFromOrigin: 0, uploads: this.options.uploads(), badParents: [] },
    });
  }

  /** A session that announced itself to the swarm (not only looked the task up). */
  private hasSessionFor(url: string): boolean {
    for (const session of this.sessions.values()) if (session.task.url === url && session.joined) return true;
    return false;
  }

  private listenersOf(taskId: string): Set<(progress: PullProgress) => void> {
    let listeners = this.progressListeners.get(taskId);
    if (!listeners) {
      listeners = new Set();
      this.progressListeners.set(taskId, listeners);
    }
    return listeners;
  }

  private progress(session: TaskSession): PullProgress {
    return {
      taskId: session.task.id,
      size: session.task.size,
      completedBytes: session.files.completedBytes,
      bytesFromPeers: session.downloader.bytesFromPeers,
      bytesFromOrigin: session.downloader.bytesFromOrigin,
    };
  }

  /** Task identity computed locally, exactly as the scheduler would. */
  private async directTask(location: OriginLocation, url: string): Promise<TaskInfo> {
    const head = await this.options.origin.head(location);
    return taskInfoOf(url, head, location.kind === 's3' ? location.versionId : undefined);
  }
}
