import { OriginChangedError, UnavailableError } from '../../core/errors.ts';
import { canonicalOriginUrl, parseOriginUrl, type OriginLocation } from '../../core/origin-url.ts';
import type { TaskInfo } from '../../core/wire/scheduler.ts';
import { taskInfoOf } from '../../core/task-info.ts';
import { isPackUrl, packTaskInfo, parsePackUrl } from '../../core/pack.ts';
import { locationOfTaskUrl } from './task-location.ts';
import { announceRequest, idleState } from '../control/announcer.ts';
import type { PieceStore } from '../cache/piece-store.ts';
import type { TaskFiles } from '../cache/task-files.ts';
import type { TaskEvents } from './task-events.ts';
import { enterSwarm } from './swarm-entry.ts';
import { TaskSession, type OpeningAnswer, type SessionDeps, type TaskSessionOptions } from './task-session.ts';
import { progressOf, type PullProgress, type PullResult } from './pull-progress.ts';

export type { PullProgress, PullResult } from './pull-progress.ts';

/** Pulls of one URL in a row that may meet a changed object before the pull gives up (exit 6). */
const ORIGIN_CHANGE_RETRIES = 3;

/** How often a running pull reports progress between pieces (bytes received within pieces). */
const PROGRESS_TICK_MS = 250;

export interface TaskManagerOptions extends SessionDeps {
  readonly store: PieceStore;
  /** How long (ms, drawn per pull between min and max) a failing register is retried before the origin is read directly. */
  readonly entryPatienceMs?: { readonly min: number; readonly max: number };
}

/**
 * The registry of task sessions: finds or starts the session of a URL's
 * current task. Concurrent pulls of one task share one session (single
 * flight); every session it starts is registered (resumed ones too), so
 * forget() and shutdown() stop them all. Finished tasks keep being announced
 * so other agents can use them.
 */
export class TaskManager {
  private readonly sessions = new Map<string, TaskSession>();
  private readonly opening = new Map<string, Promise<TaskSession>>();
  private readonly progressListeners = new Map<string, Set<(progress: PullProgress) => void>>();

  constructor(private readonly options: TaskManagerOptions) {}

  /**
   * Resolves the URL to its task (one announce) and returns the task's session, joining
   * the swarm (metadata-only lookups go through lookup(), which starts no session).
   */
  open(url: string, location: OriginLocation = locationOfTaskUrl(url)): Promise<TaskSession> {
    // A pack is immutable (its id pins every member): a running session is its current task.
    const pack = isPackUrl(url) ? this.sessions.get(parsePackUrl(url).id) : undefined;
    if (pack && !pack.failed) return Promise.resolve(pack);
    const canonical = isPackUrl(url) ? url : canonicalOriginUrl(location);
    let pending = this.opening.get(canonical);
    if (!pending) {
      pending = this.start(location, canonical).finally(() => this.opening.delete(canonical));
      this.opening.set(canonical, pending);
    }
    return pending;
  }

  /**
   * The URL's current task, for metadata only (a HEAD): one `lookup` announce, or the
   * origin itself when the scheduler is unreachable and the fallback admits the URL.
   * Starts no session and opens nothing: `files` is the cached task if there is one.
   */
  async lookup(url: string): Promise<{ task: TaskInfo; files?: TaskFiles }> {
    const location = parseOriginUrl(url);
    const canonical = canonicalOriginUrl(location);
    const { scheduler, identity } = this.options;
    let task: TaskInfo;
    try {
      task = (await scheduler.announce(announceRequest(identity, canonical, undefined, 'lookup', idleState(this.options.uploads())))).task;
    } catch (error) {
      if (!(error instanceof UnavailableError)) throw error;
      if (!this.options.fallback.admits(location)) throw notAdmittedInOutage(canonical, error);
      task = await this.directTask(location, canonical);
    }
    return { task, files: this.options.store.get(task.id) };
  }

  /**
   * Fetches every piece of `url`'s current object into the cache. An object
   * that changes during the pull (OriginChanged) is looked up again and pulled
   * in its new version, a bounded number of times. `signal` cancels: the
   * download stops unless another pull or read still holds the task.
   */
  async pull(url: string, onProgress?: (progress: PullProgress) => void, signal?: AbortSignal, location?: OriginLocation): Promise<{ result: PullResult; files: TaskFiles }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.pullOnce(url, location, onProgress, signal);
      } catch (error) {
        // A pack pins its members' versions: a changed member is the caller's to pull again on its own.
        if (!(error instanceof OriginChangedError) || isPackUrl(url) || attempt >= ORIGIN_CHANGE_RETRIES || signal?.aborted) throw error;
        this.options.log.info('object changed during the pull: looking it up again', { url, attempt });
      }
    }
  }

  private async pullOnce(url: string, location: OriginLocation | undefined, onProgress: ((progress: PullProgress) => void) | undefined, signal: AbortSignal | undefined): Promise<{ result: PullResult; files: TaskFiles }> {
    const started = Date.now();
    signal?.throwIfAborted();
    const session = await this.open(url, location);
    const { files, task } = session;
    // A 0-byte task is complete as soon as it is opened: only a task used before came from the cache.
    const cachedBefore = files.completedBytes === task.size && (task.size > 0 || files.used);
    const peersBefore = session.downloader.bytesFromPeers;
    const originBefore = session.downloader.bytesFromOrigin;
    const listeners = this.listenersOf(task.id);
    if (onProgress) listeners.add(onProgress);
    const release = session.use();
    const ticker = onProgress ? setInterval(() => onProgress(progressOf(session)), PROGRESS_TICK_MS) : undefined;
    try {
      const all = session.ensure(Array.from({ length: task.pieceCount }, (_, i) => i));
      await (signal ? raceAbort(all, signal) : all);
    } finally {
      clearInterval(ticker);
      release();
      if (onProgress) listeners.delete(onProgress);
      if (listeners.size === 0) this.progressListeners.delete(task.id);
    }
    files.touch();
    const progress = {
      ...progressOf(session),
      // Bytes this pull moved; a cached or shared task reports only what arrived meanwhile.
      bytesFromPeers: session.downloader.bytesFromPeers - peersBefore,
      bytesFromOrigin: session.downloader.bytesFromOrigin - originBefore,
      receivingBytes: 0,
      waiting: undefined,
    };
    onProgress?.(progress);
    return {
      files,
      result: { ...progress, url: task.url, seconds: (Date.now() - started) / 1000, cached: cachedBefore, direct: session.direct || session.downloader.origin.pacing },
    };
  }

  /** Runs `work`, a read that pulls `url` (the S3 endpoint's GetObject); the metered manager counts it as a pull. */
  counted<T>(_url: string, work: () => Promise<T>): Promise<T> {
    return work();
  }

  /**
   * Seeds every complete cached task, so a restarted agent keeps serving. Nothing is
   * announced here: the host heartbeat carries them, and the scheduler's answer names
   * those it has no record of, which are announced one at a time (seed-resumer.ts).
   */
  resumeSeeding(): void {
    for (const files of this.options.store.list()) {
      if (!files.complete || this.sessions.has(files.task.id)) continue;
      this.register(files.task, locationOfTaskUrl(files.task.url), files, 'swarm').seed();
    }
  }

  /** Task ids of the complete tasks this agent seeds (the heartbeat's holdings). */
  holdings(): string[] {
    return [...this.sessions.values()].filter((session) => session.seeding).map((session) => session.task.id);
  }

  /** Sessions by task id (for stats and eviction). */
  session(taskId: string): TaskSession | undefined {
    return this.sessions.get(taskId);
  }

  /** Stops the task's session and leaves its swarm (best effort, not awaited): the task is leaving the cache. */
  forget(taskId: string): void {
    const session = this.sessions.get(taskId);
    this.sessions.delete(taskId);
    this.options.auth.forget(taskId);
    if (!session) return;
    void session.leave().catch((error) => this.options.log.warn('leaving the swarm failed', { taskId, error }));
  }

  async shutdown(): Promise<void> {
    const leaving = [...this.sessions.values()].map((session) => session.leave());
    this.sessions.clear();
    await Promise.race([Promise.all(leaving), new Promise((resolve) => setTimeout(resolve, 1000))]);
  }

  private async start(location: OriginLocation, url: string): Promise<TaskSession> {
    const { scheduler, identity } = this.options;
    const joined = this.joinedSessionFor(url);
    const event = joined ? 'progress' : 'register';
    let opening: OpeningAnswer | undefined;
    // Without a fallback the first failure is final; with one, a slow or failing register is retried first (swarm-entry.ts).
    // A joined session's own progress: an idle state would tell the scheduler a seed holds nothing.
    const request = announceRequest(identity, url, undefined, event, joined?.announceState() ?? idleState(this.options.uploads()));
    if (!this.options.fallback.admits(location)) {
      try {
        const sentAt = Date.now();
        opening = { answer: await scheduler.announce(request), sentAt };
      } catch (error) {
        throw error instanceof UnavailableError ? notAdmittedInOutage(url, error) : error;
      }
    } else {
      opening = await enterSwarm({ announce: (timeoutMs) => scheduler.announce(request, { timeoutMs }), log: this.options.log.child({ url }), patienceMs: this.options.entryPatienceMs });
    }
    const task = opening?.answer.task ?? (await this.directTask(location, url));
    const existing = this.sessions.get(task.id);
    if (existing && !existing.failed) {
      // A direct session keeps going without the swarm; it is dropped when done.
      if (opening) existing.join(opening);
      return existing;
    }
    const files = await this.options.store.open(task);
    // An S3 pull that fell back stays in the swarm (outage-pace.ts); an HTTP(S) one reads directly (only a lease holder attests its pieces).
    const session = this.register(task, location, files, opening ? 'swarm' : location.kind === 's3' ? 'fallback' : 'direct', opening);
    // Already whole in the cache: the register said nothing of it, so say 'finished' now and seed.
    if (files.complete && opening) session.seedCached();
    return session;
  }

  /** Starts a session and registers it: every session, so forget() and shutdown() reach each one. */
  private register(task: TaskInfo, location: OriginLocation, files: TaskFiles, mode: TaskSessionOptions['mode'], opening?: OpeningAnswer): TaskSession {
    const session = new TaskSession({ ...this.options, task, location, files, mode, opening, events: this.events, log: this.options.log.child({ taskId: task.id }) });
    this.sessions.set(task.id, session);
    return session;
  }

  /** What every session reports, handled once for all. */
  private readonly events: TaskEvents = {
    piece: (session) => {
      const listeners = this.progressListeners.get(session.task.id);
      if (!listeners?.size) return;
      const progress = progressOf(session);
      for (const listener of listeners) listener(progress);
    },
    complete: (session) => {
      const { downloader } = session;
      this.options.log.info('task complete', { taskId: session.task.id, bytesFromPeers: downloader.bytesFromPeers, bytesFromOrigin: downloader.bytesFromOrigin });
      // A direct pull ends here; a swarm session takes the task over and seeds it (the heartbeat
      // carries it): once the scheduler answers, its pieces are checked and offered (held-back-pieces.ts).
      if (!session.direct) return session.seed();
      this.drop(session);
      if (!this.sessions.has(session.task.id)) this.register(session.task, locationOfTaskUrl(session.task.url), session.files, 'swarm').seed();
    },
    failed: (session, error) => {
      if (session.cancelled) return; // cancelled: abandoned() said so
      this.options.log.warn('pull failed', { taskId: session.task.id, error });
      this.drop(session);
    },
    abandoned: (session) => {
      this.options.log.info('download cancelled: nobody wants the task any more', { taskId: session.task.id, completedBytes: session.files.completedBytes });
      this.drop(session);
      void session.cancel(new UnavailableError('the pull was cancelled'), () => this.sessions.has(session.task.id)).catch(() => {});
    },
  };

  private drop(session: TaskSession): void {
    if (this.sessions.get(session.task.id) === session) this.sessions.delete(session.task.id);
  }

  /** A session that announced itself to the swarm (not only looked the task up). */
  private joinedSessionFor(url: string): TaskSession | undefined {
    for (const session of this.sessions.values()) if (session.task.url === url && session.joined) return session;
    return undefined;
  }

  private listenersOf(taskId: string): Set<(progress: PullProgress) => void> {
    let listeners = this.progressListeners.get(taskId);
    if (!listeners) {
      listeners = new Set();
      this.progressListeners.set(taskId, listeners);
    }
    return listeners;
  }

  /** Task identity computed locally, exactly as the scheduler would (only for a location the fallback admits). */
  private async directTask(location: OriginLocation, url: string): Promise<TaskInfo> {
    // A pack has no HEAD: its task follows from its members (core/pack.ts), as the scheduler's does.
    if (location.kind === 's3' && location.pack) return packTaskInfo(location.bucket, location.pack);
    const head = await this.options.origin.head(location);
    return taskInfoOf(url, head, location.kind === 's3' ? location.versionId : undefined);
  }
}

/** An HTTP(S) URL no allowlist entry this agent heard of admits: without the scheduler, nothing vouches for it. */
function notAdmittedInOutage(url: string, cause: UnavailableError): UnavailableError {
  return new UnavailableError(
    `the scheduler is unreachable and no http(s):// allowlist entry this agent received from it admits ${url}; not fetching it directly (retry when the scheduler is back)`,
    { cause, context: { url, retryAfterMs: cause.retryAfterMs } },
  );
}

/** `work`, or the signal's reason once it aborts (work goes on: its owner decides whether to stop it). */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => {});
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
