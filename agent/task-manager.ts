import { UnavailableError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { canonicalS3Url, parseS3Url, type S3Location } from '../core/origin-url.ts';
import { choosePieceLength, pieceCountOf } from '../core/piece-math.ts';
import type { AnnounceResponse, TaskInfo } from '../core/schemas.ts';
import { computeTaskId } from '../core/task-id.ts';
import { Announcer, type AnnounceState, type PeerIdentity } from './announcer.ts';
import { DigestPublisher } from './digest-publisher.ts';
import { Downloader, type DownloadLimits } from './downloader.ts';
import { Manifest } from './manifest.ts';
import type { OriginFetcher } from './origin.ts';
import type { PeerClient } from './peer-client.ts';
import type { PieceStore, TaskFiles } from './piece-store.ts';
import type { SchedulerClient } from './scheduler-client.ts';

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

export interface TaskManagerOptions {
  readonly store: PieceStore;
  readonly scheduler: SchedulerClient;
  readonly identity: PeerIdentity;
  readonly peers: PeerClient;
  readonly origin: OriginFetcher;
  readonly log: Logger;
  readonly uploads: () => number;
  readonly limits?: Partial<DownloadLimits>;
  /** How long the scheduler may be unreachable before a starved pull reads S3 directly. */
  readonly schedulerGraceMs?: number;
}

interface ActivePull {
  readonly promise: Promise<{ result: PullResult; files: TaskFiles }>;
  readonly listeners: Set<(progress: PullProgress) => void>;
}

/**
 * Runs pulls: one download per task however many callers ask (single
 * flight), then keeps the finished task announced so others can use it.
 */
export class TaskManager {
  private readonly active = new Map<string, ActivePull>();
  private readonly seeding = new Map<string, Announcer>();

  constructor(private readonly options: TaskManagerOptions) {}

  pull(url: string, onProgress?: (progress: PullProgress) => void): Promise<{ result: PullResult; files: TaskFiles }> {
    const location = parseS3Url(url);
    const key = canonicalS3Url(location);
    let entry = this.active.get(key);
    if (!entry) {
      const listeners = new Set<(progress: PullProgress) => void>();
      const promise = this.run(location, key, (progress) => listeners.forEach((listener) => listener(progress))).finally(() =>
        this.active.delete(key),
      );
      entry = { promise, listeners };
      this.active.set(key, entry);
    }
    if (onProgress) entry.listeners.add(onProgress);
    return entry.promise;
  }

  /** Announce every complete cached task, so a restarted agent keeps serving. */
  resumeSeeding(): void {
    for (const files of this.options.store.list()) {
      if (files.complete && !this.seeding.has(files.task.id)) this.seed(files, undefined);
    }
  }

  stopSeeding(taskId: string): void {
    this.seeding.get(taskId)?.stop();
    this.seeding.delete(taskId);
  }

  async shutdown(): Promise<void> {
    const { identity, scheduler } = this.options;
    const leaving = [...this.seeding.entries()].map(([taskId, announcer]) => {
      announcer.stop();
      return scheduler.leave(taskId, identity.peerId, identity.site).catch(() => {});
    });
    this.seeding.clear();
    await Promise.race([Promise.all(leaving), new Promise((resolve) => setTimeout(resolve, 1000))]);
  }

  private async run(location: S3Location, url: string, emit: (progress: PullProgress) => void): Promise<{ result: PullResult; files: TaskFiles }> {
    const started = Date.now();
    const { store, scheduler, identity, log: baseLog } = this.options;
    let files: TaskFiles | undefined;
    let downloader: Downloader | undefined;
    let taskId: string | undefined;
    const manifest: Manifest = new Manifest(async () => (taskId ? (await scheduler.manifest(taskId)).digests : {}));
    const onAnswer = (answer: AnnounceResponse): void => {
      manifest.merge(answer.digests);
      downloader?.setParents(answer.parents);
      downloader?.setOriginAllowed(answer.backToSource);
    };
    const announcer: Announcer = new Announcer({
      client: scheduler,
      identity,
      url,
      log: baseLog,
      onAnswer,
      state: (): AnnounceState => ({
        completed: files?.bitfield.count ?? 0,
        digestsKnown: manifest.size,
        bytesFromPeers: downloader?.bytesFromPeers ?? 0,
        bytesFromOrigin: downloader?.bytesFromOrigin ?? 0,
        uploads: this.options.uploads(),
        badParents: [...(downloader?.badParents ?? [])],
      }),
    });

    let first: AnnounceResponse | undefined;
    let task: TaskInfo;
    try {
      first = await announcer.announce('register');
      task = first.task;
    } catch (error) {
      if (!(error instanceof UnavailableError)) throw error;
      baseLog.warn('scheduler unavailable; pulling straight from S3', { url, error });
      task = await this.directTask(location, url);
    }
    taskId = task.id;
    const log = baseLog.child({ taskId: task.id });
    files = await store.open(task);
    const finish = (direct: boolean): { result: PullResult; files: TaskFiles } => {
      const progress = this.progress(files!, downloader);
      emit(progress);
      return {
        files: files!,
        result: { ...progress, url, seconds: (Date.now() - started) / 1000, cached: !downloader, direct },
      };
    };
    if (files.complete) {
      files.touch();
      if (first) this.seed(files, announcer);
      return finish(false);
    }

    const direct = first === undefined;
    const granted = first;
    const publisher = new DigestPublisher(
      (digests) => (direct ? Promise.resolve() : scheduler.publishDigests(task.id, identity.peerId, identity.site, digests)),
      log,
    );
    const grace = this.options.schedulerGraceMs ?? 3_000;
    downloader = new Downloader({
      task,
      location,
      files,
      wanted: Array.from({ length: task.pieceCount }, (_, i) => i),
      manifest,
      peers: this.options.peers,
      origin: this.options.origin,
      publisher,
      log,
      limits: this.options.limits,
      onStarved: () => {
        if (direct) return;
        announcer.poke();
        const failingSince = announcer.failingSince;
        if (failingSince !== undefined && Date.now() - failingSince > grace) downloader!.setOriginAllowed(true);
      },
      onPiece: () => emit(this.progress(files!, downloader)),
    });
    if (granted) onAnswer(granted);
    else downloader.setOriginAllowed(true);
    if (!direct) announcer.start('progress');
    try {
      await downloader.run();
    } catch (error) {
      announcer.stop();
      if (!direct) await announcer.announce('failed').catch(() => undefined);
      throw error;
    }
    await files.flush();
    announcer.stop();
    if (!direct) {
      await announcer.announce('finished').catch((error) => log.warn('finished announce failed', { error }));
      this.seed(files, announcer);
    }
    log.info('pull finished', { bytesFromPeers: downloader.bytesFromPeers, bytesFromOrigin: downloader.bytesFromOrigin });
    return finish(direct);
  }

  private seed(files: TaskFiles, announcer: Announcer | undefined): void {
    if (this.seeding.has(files.task.id)) return;
    const { scheduler, identity, log } = this.options;
    const heartbeat =
      announcer ??
      new Announcer({
        client: scheduler,
        identity,
        url: files.task.url,
        log,
        onAnswer: () => {},
        state: () => ({
          completed: files.task.pieceCount,
          digestsKnown: files.task.pieceCount,
          bytesFromPeers: 0,
          bytesFromOrigin: 0,
          uploads: this.options.uploads(),
          badParents: [],
        }),
      });
    heartbeat.taskId = files.task.id;
    this.seeding.set(files.task.id, heartbeat);
    heartbeat.start('progress');
  }

  private progress(files: TaskFiles, downloader: Downloader | undefined): PullProgress {
    return {
      taskId: files.task.id,
      size: files.task.size,
      completedBytes: files.completedBytes,
      bytesFromPeers: downloader?.bytesFromPeers ?? 0,
      bytesFromOrigin: downloader?.bytesFromOrigin ?? 0,
    };
  }

  /** Task identity computed locally, exactly as the scheduler would. */
  private async directTask(location: S3Location, url: string): Promise<TaskInfo> {
    const head = await this.options.origin.head(location);
    const pieceLength = choosePieceLength(head.size);
    return {
      id: computeTaskId(url, location.versionId ?? head.etag),
      url,
      size: head.size,
      etag: head.etag,
      pieceLength,
      pieceCount: pieceCountOf(head.size, pieceLength),
    };
  }
}
