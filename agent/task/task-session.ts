import type { Logger } from '../../core/log.ts';
import type { OriginLocation } from '../../core/origin-url.ts';
import type { AnnounceResponse, TaskInfo } from '../../core/wire/scheduler.ts';
import { Announcer, type AnnounceState, type PeerIdentity } from '../control/announcer.ts';
import type { SchedulerClient } from '../control/scheduler-client.ts';
import type { TaskFiles } from '../cache/task-files.ts';
import type { FallbackOrigins } from '../origin/fallback-origins.ts';
import type { OriginFetcher } from '../origin/origin-fetcher.ts';
import { PACK_URL_SEPARATOR } from '../origin/pack-reader.ts';
import type { ChildViews } from '../peer/child-view.ts';
import type { PeerAuth } from '../peer/peer-auth.ts';
import type { PeerClient } from '../peer/peer-client.ts';
import { digestSinkFor } from './digest-sink-for.ts';
import { Downloader, type DownloadLimits } from './downloader.ts';
import { Manifest } from './manifest.ts';
import { drawPatience, OUTAGE_GRACE_MS } from './swarm-entry.ts';
import type { TaskEvents } from './task-events.ts';
import { VouchingWait } from './vouching-wait.ts';

/** How long a complete pull waits for its last digests and 'finished' announce before returning. */
const FINISH_WAIT_MS = 1_000;

/** What every session of an agent shares (the task manager passes its own). */
export interface SessionDeps {
  readonly scheduler: SchedulerClient;
  readonly identity: PeerIdentity;
  readonly peers: PeerClient;
  readonly origin: OriginFetcher;
  readonly auth: PeerAuth;
  /** Where a pull may read the origin without the scheduler (HTTP(S): learned allowlist entries only). */
  readonly fallback: FallbackOrigins;
  readonly views: ChildViews;
  readonly log: Logger;
  readonly uploads: () => number;
  readonly limits?: Partial<DownloadLimits>;
  /** How long the scheduler may be unreachable before a starved pull reads S3 directly. */
  readonly schedulerGraceMs?: number;
}

/** The announce that resolved the URL to this task, sent before the session existed. */
export interface OpeningAnswer {
  readonly answer: AnnounceResponse;
  readonly sentAt: number;
}

export interface TaskSessionOptions extends SessionDeps {
  readonly task: TaskInfo;
  readonly location: OriginLocation;
  readonly files: TaskFiles;
  /** 'direct': the scheduler could not be reached; the session reads the origin and announces nothing. 'fallback': it
   * could not either, but the session keeps asking and reads S3 piece by piece (outage-pace.ts) until it answers. */
  readonly mode: 'swarm' | 'direct' | 'fallback';
  readonly opening?: OpeningAnswer;
  readonly events: TaskEvents;
}

/**
 * One task on this agent: its files, its downloader and its announces. All
 * pulls of the task (whole object or ranges, however many at once) share the
 * session, so each piece is fetched once. Every scheduler answer reaches it
 * through its own announcer (see onAnswer).
 */
export class TaskSession {
  readonly task: TaskInfo;
  readonly files: TaskFiles;
  readonly downloader: Downloader;
  private readonly announcer?: Announcer;
  private readonly manifest: Manifest;
  private readonly vouching: VouchingWait;
  private running?: Promise<void>;
  private announcing = false;
  private stopped = false;
  private isCancelled = false;
  private isJoined = false;
  /** A slow control plane is waited out (swarm-entry.ts): only a long outage sends a starved pull to the origin. */
  private readonly outageGraceMs: number;
  private isSeeding = false;

  constructor(private readonly options: TaskSessionOptions) {
    const { task, files, identity, scheduler, log, mode } = options;
    this.task = task;
    this.files = files;
    this.outageGraceMs = options.schedulerGraceMs ?? drawPatience(OUTAGE_GRACE_MS);
    const direct = mode === 'direct';
    this.manifest = new Manifest(async () => (direct ? {} : (await scheduler.manifest(task.id)).digests));
    this.vouching = new VouchingWait(task.pieceCount);
    for (const [index, digest] of files.digests) this.manifest.set(index, digest);
    const publisher = digestSinkFor({
      task, location: options.location, direct, scheduler, identity, manifest: this.manifest, log,
      readAgain: (index) => this.downloader.readAgain(index),
    });
    this.downloader = new Downloader({
      task, location: options.location, files, view: options.views.of(files), manifest: this.manifest,
      peers: options.peers, origin: options.origin, publisher, log, limits: options.limits,
      credential: () => options.auth.credential(task.id),
      events: {
        piece: (index, bytes, fromOrigin) => options.events.piece(this, index, bytes, fromOrigin),
        starved: () => this.starved(),
        stalled: (step) => this.stalled(step),
        controlPlaneBehind: () => this.announcer?.failingSince !== undefined || this.vouching.holding(Date.now()),
      },
    });
    if (direct) {
      this.downloader.allowOrigin(true);
      return;
    }
    this.announcer = new Announcer({
      client: scheduler,
      identity,
      url: task.url,
      taskId: task.id,
      log,
      state: () => this.announceState(),
      onAnswer: (answer) => this.onAnswer(answer),
    });
    if (options.opening) this.join(options.opening);
    if (mode === 'fallback') this.downloader.origin.pace();
  }

  get direct(): boolean {
    return !this.announcer;
  }
  /** Stopped by cancel(): nobody wanted the rest of the task. */
  get cancelled(): boolean {
    return this.isCancelled;
  }
  get failed(): boolean {
    return this.downloader.failed !== undefined;
  }
  /** Announced to the swarm (registered), not only looked up. */
  get joined(): boolean {
    return this.isJoined;
  }

  /** A pull's (or lookup's) opening answer for this task: handled like any answer; a pull's joins the swarm. */
  join(opening: OpeningAnswer): void {
    this.announcer?.adopt(opening.answer, opening.sentAt);
    if (this.announcer) this.isJoined = true;
  }

  /**
   * Holds the task for one pull or read (against eviction, and as a reason to
   * go on downloading): when the last holder of an unfinished task lets go,
   * the session reports itself abandoned and its owner stops the download.
   */
  use(): () => void {
    const release = this.files.use();
    return () => {
      release();
      if (!this.files.inUse && !this.files.complete && !this.stopped) this.options.events.abandoned(this);
    };
  }

  /** Stops downloading for good and leaves the swarm; the verified pieces stay in the cache for a later pull. */
  async cancel(reason: unknown, stillHeld: () => boolean = () => false): Promise<void> {
    this.isCancelled = true;
    this.stop();
    this.downloader.abort(reason);
    await this.leave(stillHeld);
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

  /** Seeds the finished task with no announces of its own: the host heartbeat carries it (see `seeding`); reannounce() when the scheduler lost it. */
  seed(): void {
    if (!this.announcer) return;
    this.isJoined = true;
    this.isSeeding = true;
  }

  /** A session opened on a task already complete in the cache: tells the swarm, then seeds. */
  seedCached(): void {
    if (!this.announcer || !this.files.complete) return;
    this.seed();
    void this.announcer.announce('finished').catch((error) => this.options.log.warn('finished announce failed', { error }));
  }

  /** Held, complete and still in the swarm: the heartbeat lists it among the host's holdings. */
  get seeding(): boolean {
    return this.isSeeding && !this.stopped && this.files.complete && !this.files.closed;
  }

  /** One announce of the finished task: the scheduler records this agent as its parent again (and grants the peer key). */
  async reannounce(): Promise<void> {
    if (!this.announcer || !this.seeding) return;
    await this.announcer.announce('progress');
  }

  stop(): void {
    this.stopped = true;
    this.announcer?.stop();
    this.announcing = false;
  }

  /** Stops, then tells the scheduler this agent left the task's swarm, unless `stillHeld()` (best effort: errors are swallowed). */
  async leave(stillHeld: () => boolean = () => false): Promise<void> {
    this.stop();
    if (!this.announcer) return;
    await this.announcer.settled();
    // A newer session of the task on this agent owns the swarm record now: leaving would remove it.
    if (stillHeld()) return;
    const { scheduler, identity } = this.options;
    await scheduler.leave(this.task.id, identity.peerId, identity.site).catch(() => {});
  }

  /** The one path of every scheduler answer. */
  private onAnswer(answer: AnnounceResponse): void {
    const { auth, fallback, log } = this.options;
    if (answer.peerAuth) auth.grant(this.task.id, answer.peerAuth).catch((error) => log.warn('peer grant refused', { error }));
    if (answer.httpOrigins) void fallback.learn(answer.httpOrigins);
    this.manifest.merge(answer.digests);
    this.vouching.observe(answer, Date.now());
    this.downloader.setParents(answer.parents);
    this.downloader.allowOrigin(answer.backToSource, answer.origin?.members?.join(PACK_URL_SEPARATOR) ?? answer.origin?.url);
  }

  /** What this agent's announces of the task report (progress, digests known, bytes, bad parents). */
  announceState(): AnnounceState {
    return {
      completed: this.files.bitfield.count,
      digestsKnown: this.manifest.size,
      bytesFromPeers: this.downloader.bytesFromPeers,
      bytesFromOrigin: this.downloader.bytesFromOrigin,
      uploads: this.options.uploads(),
      badParents: [...this.downloader.badParents],
      unreachable: this.downloader.unreachable(),
    };
  }

  private startAnnouncing(announcer: Announcer): void {
    this.announcing = true;
    this.isJoined = true;
    announcer.start('progress');
  }

  private drive(): Promise<void> {
    if (this.running) return this.running;
    const announcer = this.announcer;
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
        // A cancelled session has left the swarm already: it did not fail.
        if (announcer && !this.isCancelled) await announcer.announce('failed', false, (error as Error)?.message).catch(() => undefined);
        this.options.events.failed(this, error);
        throw error;
      },
    );
    return this.running;
  }

  /** Publishes what is left, then announces 'finished' (only once children can verify every piece). */
  private async finish(): Promise<void> {
    const announcer = this.announcer;
    await this.downloader.settled();
    if (this.stopped) return; // evicted or shutting down while the pull finished
    if (announcer) {
      announcer.stop();
      this.announcing = false;
      await announcer.announce('finished').catch((error) => this.options.log.warn('finished announce failed', { error }));
    }
    this.options.events.complete(this);
  }

  /** The progress deadline passed (the downloader dropped its idle parents): ask again, then read the origin. */
  private stalled(step: 'reannounce' | 'origin'): void {
    if (step === 'reannounce') this.announcer?.poke();
    else if (this.options.fallback.admits(this.options.location)) this.downloader.fallBackToOrigin();
  }

  private starved(): void {
    const announcer = this.announcer;
    if (!announcer) return;
    announcer.poke();
    const failingSince = announcer.failingSince;
    const outage = failingSince !== undefined && Date.now() - failingSince > this.outageGraceMs;
    if (outage && this.options.fallback.admits(this.options.location)) this.downloader.origin.pace();
  }
}
