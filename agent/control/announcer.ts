import { UnavailableError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { AnnounceEvent, AnnounceRequest, AnnounceResponse } from '../../core/wire/scheduler.ts';
import { jitteredBackoff } from '../http/retry.ts';
import type { SchedulerClient } from './scheduler-client.ts';

export interface PeerIdentity {
  readonly peerId: string;
  readonly cluster: string;
  readonly addr: string;
  readonly site: string;
  readonly seed: boolean;
}

export interface AnnounceState {
  readonly completed: number;
  readonly digestsKnown: number;
  readonly bytesFromPeers: number;
  readonly bytesFromOrigin: number;
  readonly uploads: number;
  readonly badParents: readonly string[];
  readonly unreachable?: readonly string[];
}

/** What an agent that holds nothing of a task yet reports (the opening announce of a pull). */
export function idleState(uploads: number): AnnounceState {
  return { completed: 0, digestsKnown: 0, bytesFromPeers: 0, bytesFromOrigin: 0, uploads, badParents: [] };
}

/** One announce request: who this agent is, what it has of the task, and what happened. */
export function announceRequest(
  identity: PeerIdentity,
  url: string,
  taskId: string | undefined,
  event: AnnounceEvent,
  state: AnnounceState,
  extra: { starved?: boolean; badParents?: readonly string[]; reason?: string } = {},
): AnnounceRequest {
  const badParents = extra.badParents ?? state.badParents;
  return {
    url,
    taskId,
    peerId: identity.peerId,
    addr: identity.addr,
    cluster: identity.cluster,
    site: identity.site,
    seed: identity.seed,
    event,
    completed: state.completed,
    digestsKnown: state.digestsKnown,
    bytesFromPeers: state.bytesFromPeers,
    bytesFromOrigin: state.bytesFromOrigin,
    uploads: state.uploads,
    ...(extra.starved ? { starved: true } : {}),
    ...(extra.reason ? { reason: extra.reason.slice(0, 256) } : {}),
    ...(badParents.length ? { badParents: [...badParents] } : {}),
    ...(state.unreachable?.length ? { unreachable: state.unreachable.slice(0, 32) } : {}),
  };
}

export interface AnnouncerOptions {
  readonly client: SchedulerClient;
  readonly identity: PeerIdentity;
  readonly url: string;
  /** The task announced (known: a session's announcer is made once the URL resolved to it). */
  readonly taskId: string;
  readonly log: Logger;
  readonly state: () => AnnounceState;
  readonly onAnswer: (answer: AnnounceResponse) => void;
  /** Least time between two announces triggered by starvation. */
  readonly minGapMs?: number;
}

/**
 * Keeps one task's announces going: on the interval the scheduler chooses, at
 * once (rate-limited) when the downloader runs dry, and as a heartbeat while
 * the agent seeds a finished task.
 */
export class Announcer {
  /** Since when announces have failed with the scheduler unreachable or 5xx. */
  failingSince?: number;
  private intervalMs = 1_000;
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;
  private lastAt = 0;
  private stopped = false;
  private reported = new Set<string>();
  private warned = false;
  /** While announces fail, the next waits this much longer (jittered, growing): a fleet does not retry in step. */
  private retryGapMs = 0;
  private failures = 0;

  constructor(private readonly options: AnnouncerOptions) {}

  /** One announce now; `reason` goes with a `failed` one. */
  async announce(event: AnnounceEvent, starved = false, reason?: string): Promise<AnnounceResponse> {
    const state = this.options.state();
    const badParents = state.badParents.filter((id) => !this.reported.has(id));
    const request = announceRequest(this.options.identity, this.options.url, this.options.taskId, event, state, { starved, badParents, reason });
    this.lastAt = Date.now();
    let answer: AnnounceResponse;
    try {
      answer = await this.options.client.announce(request);
    } catch (error) {
      if (error instanceof UnavailableError) {
        this.failingSince ??= Date.now();
        this.retryGapMs = jitteredBackoff(500, ++this.failures, 4_000);
      }
      throw error;
    }
    this.failingSince = undefined;
    this.failures = 0;
    this.retryGapMs = 0;
    if (this.warned) this.options.log.info('scheduler answering announces again');
    this.warned = false;
    for (const id of badParents) this.reported.add(id);
    this.intervalMs = answer.announceIntervalMs;
    this.options.onAnswer(answer);
    return answer;
  }

  /**
   * An answer to an announce sent for this task before this announcer existed
   * (a pull's opening announce, which resolved the URL to the task): handled
   * as if this announcer had got it.
   */
  adopt(answer: AnnounceResponse, sentAt: number): void {
    this.lastAt = Math.max(this.lastAt, sentAt);
    this.intervalMs = answer.announceIntervalMs;
    this.options.onAnswer(answer);
  }

  /** Said once per outage (warn), then at debug: a slow scheduler must not flood the log. */
  private failed(error: unknown): void {
    if (this.warned) return this.options.log.debug('announce failed', { error });
    this.warned = true;
    this.options.log.warn('announce failed', { error });
  }

  /** Resolves once no announce is in flight (after stop(), nothing more is sent). */
  async settled(): Promise<void> {
    await this.inFlight;
  }

  /** Periodic announces until stop(). */
  start(event: AnnounceEvent = 'progress'): void {
    this.stopped = false;
    this.schedule(event);
  }

  /** Announce now (the downloader ran out of parents), at most once per minGapMs. */
  poke(): void {
    if (this.stopped || this.inFlight) return;
    if (Date.now() - this.lastAt < (this.options.minGapMs ?? 1_000) + this.retryGapMs) return;
    this.inFlight = this.announce('progress', true)
      .then(() => undefined, (error) => this.failed(error))
      .finally(() => {
        this.inFlight = undefined;
      });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(event: AnnounceEvent): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      if (!this.inFlight && Date.now() - this.lastAt >= this.intervalMs / 2 + this.retryGapMs) {
        this.inFlight = this.announce(event)
          .then(() => undefined, (error) => this.failed(error))
          .finally(() => {
            this.inFlight = undefined;
          });
        await this.inFlight;
      }
      this.schedule(event);
    }, this.intervalMs);
    this.timer.unref();
  }
}
