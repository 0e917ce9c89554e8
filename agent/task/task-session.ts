import { ForbiddenError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { OriginLocation } from '../../core/origin-url.ts';
import type { AnnounceResponse, TaskInfo } from '../../core/wire/scheduler.ts';
import type { Announcer, AnnounceState } from '../control/announcer.ts';
import { DigestPublisher } from './digest-publisher.ts';
import { Downloader, type DownloadLimits } from './downloader.ts';
import type { Manifest } from './manifest.ts';
import type { OriginFetcher } from '../origin/origin-fetcher.ts';
import type { PeerClient } from '../peer/peer-client.ts';
import type { TaskFiles } from '../cache/piece-store.ts';
import type { SchedulerClient } from '../control/scheduler-client.ts';

/** How long a complete pull waits for its last digests and 'finished' announce before returning. */
const FINISH_WAIT_MS = 1_000;

/** What every session of an agent shares (the task manager passes its own). */
export interface SessionDeps {
  readonly scheduler: SchedulerClient;
  readonly identity: { readonly peerId: string; readonly site: string };
  readonly peers: PeerClient;
  readonly origin: OriginFetcher;
  readonly log: Logger;
  readonly uploads: () => number;
  readonly limits?: Partial<DownloadLimits>;
  /** How long the scheduler may be unreachable before a starved pull reads S3 directly. */
  readonly schedulerGraceMs?: number;
}

export interface TaskSessionOptions extends SessionDeps {
  readonly task: TaskInfo;
  readonly location: OriginLocation;
  readonly files: TaskFiles;
  readonly manifest: Manifest;
  /** Absent in direct mode (the scheduler could not be reached). */
  readonly announcer?: Announcer;
  readonly onComplete: (session: TaskSession) => void;
  readonly onFailed: (session: TaskSession, error: unknown) => void;
  readonly onPiece?: () => void;
  /** Called when the scheduler hands out peer credentials (so the agent starts requiring them). */
  readonly onPeerAuth?: () => Promise<void>;
}

/**
 * One task on this agent: its files, its downloader and its announces. All
 * pulls of the task (whole object or ranges, however many at once) share the
 * session, so each piece is fetched once.
 */
export class TaskSession {
  readonly task: TaskInfo;
  readonly files: TaskFiles;
  readonly downloader: Downloader;
  private running?: Promise<void>;
  private announcing = false;
  private stopped = false;
  /** Announced to the swarm (registered), not only looked up. */
  joined = false;
  private credential?: string;
  private originUrl?: string;

  constructor(private readonly options: TaskSessionOptions) {
    this.task = options.task;
    this.files = options.files;
    const { task, identity, scheduler, log } = options;
    const direct = !options.announcer;
    const publisher = new DigestPublisher(
      // In direct mode nothing is published, so those pieces are never served to peers.
      (digests) =>
        direct
          ? Promise.reject(new ForbiddenError('direct pull: digests not published'))
          : scheduler.publishDigests(task.id, identity.peerId, identity.site, digests),
      log,
    );
    this.downloader = new Downloader({
      task,
      location: options.location,
      files: options.files,
      manifest: options.manifest,
      peers: options.peers,
      origin: options.origin,
      publisher,
      log,
      limits: options.limits,
      onStarved: () => this.starved(),
      credential: () => this.credential,
      presignedUrl: () => this.originUrl,
      onPiece: options.onPiece,
    });
    if (direct) this.downloader.setOriginAllowed(true);
  }

  get direct(): boolean {
    return !this.options.announcer;
  }

  get failed(): boolean {
    return this.downloader.failed !== undefined;
  }

  onAnswer(answer: AnnounceResponse): void {
    if (answer.peerAuth) {
      this.files.peerKey = answer.peerAuth.taskKey;
      this.credential = answer.peerAuth.credential;
      void this.options.onPeerAuth?.();
    }
    if (answer.origin) this.originUrl = answer.origin.url;
    this.options.manifest.merge(answer.digests);
    this.downloader.setParents(answer.parents);
    this.downloader.setOriginAllowed(answer.backToSource);
  }

  state(): AnnounceState {
    return {
      completed: this.files.bitfield.count,
      digestsKnown: this.options.manifest.size,
      bytesFromPeers: this.downloader.bytesFromPeers,
      bytesFromOrigin: this.downloader.bytesFromOrigin,
      uploads: this.options.uploads(),
      badParents: [...this.downloader.badParents],
      unreachable: this.downloader.unreachable(),
    };
  }

  /** Resolves when every piece in `pieces` is verified on disk. */
  async ensure(pieces: Iterable<number>): Promise<void> {
    const list = [...pieces];
    this.downloader.want(list);
    while (!list.every((index) => this.files.bitfield.has(index))) {
      if (this.downloader.failed) throw this.downloader.failed;
      await this.drive();
    }
  }

  /** Keeps announcing a finished task so others can use it. */
  seed(announceNow = false): void {
    const announcer = this.options.announcer;
    if (this.announcing || !announcer) return;
    // A resumed task announces at once: it learns its peer key and becomes a parent again.
    if (announceNow) void announcer.announce('progress').catch((error) => this.options.log.warn('announce failed', { error }));
    this.startAnnouncing(announcer);
  }

  private startAnnouncing(announcer: Announcer): void {
    this.announcing = true;
    this.joined = true;
    announcer.start('progress');
  }

  stop(): void {
    this.stopped = true;
    this.options.announcer?.stop();
    this.announcing = false;
  }

  private drive(): Promise<void> {
    if (this.running) return this.running;
    const announcer = this.options.announcer;
    if (announcer && !this.announcing) this.startAnnouncing(announcer);
    this.running = this.downloader.run().then(
      async () => {
        this.running = undefined;
        if (!this.files.complete) return;
        await this.files.flush();
        // The bytes are on disk: a scheduler that is slow or down may delay the pull only briefly.
        const finishing = this.finish().catch((error) => this.options.log.warn('finishing the task failed', { error }));
        await Promise.race([finishing, new Promise((resolve) => setTimeout(resolve, FINISH_WAIT_MS).unref())]);
      },
      async (error) => {
        this.running = undefined;
        this.stop();
        if (announcer) await announcer.announce('failed').catch(() => undefined);
        this.options.onFailed(this, error);
        throw error;
      },
    );
    return this.running;
  }

  /** Publishes what is left, then announces 'finished' (only once children can verify every piece). */
  private async finish(): Promise<void> {
    const announcer = this.options.announcer;
    await this.downloader.settled();
    if (this.stopped) return; // evicted or shutting down while the pull finished
    if (announcer) {
      announcer.stop();
      this.announcing = false;
      await announcer.announce('finished').catch((error) => this.options.log.warn('finished announce failed', { error }));
    }
    this.options.onComplete(this);
  }

  private starved(): void {
    const announcer = this.options.announcer;
    if (!announcer) return;
    announcer.poke();
    const failingSince = announcer.failingSince;
    if (failingSince !== undefined && Date.now() - failingSince > (this.options.schedulerGraceMs ?? 3_000)) {
      this.downloader.setOriginAllowed(true);
    }
  }
}
