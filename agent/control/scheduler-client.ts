import { UnavailableError, errorFromWire } from '../../core/errors.ts';
import { announceResponseSchema, incidentResponseSchema, manifestResponseSchema, publishDigestsResponseSchema, type AnnounceRequest, type AnnounceResponse, type DigestMap, type IncidentRequest, type ManifestResponse } from '../../core/wire/scheduler.ts';
import { parseWith } from '../../core/wire/parse.ts';
import { PACKS_ROUTE, type PackRequest } from '../../core/wire/pack.ts';
import { taskInfoSchema, type TaskInfo } from '../../core/wire/scheduler.ts';
import type { z } from 'zod';
import { listingResponseSchema, swarmResponseSchema, type ListingPageQuery, type ListingResponse, type SwarmResponse } from '../../core/wire/scheduler.ts';
import { jitteredBackoff, sleep } from '../http/retry.ts';
import { heartbeatResponseSchema, type HeartbeatRequest, type HeartbeatResponse } from '../../core/wire/manager.ts';
import type { RequestSigner } from './sigv4-signer.ts';

export interface SchedulerClientOptions {
  readonly baseUrl: string;
  readonly token?: string;
  /** Signs each attempt (SigV4 for a Function URL with AWS_IAM auth); replaces the token. */
  readonly sign?: RequestSigner;
  readonly timeoutMs?: number;
  /** Attempts for 5xx and network errors; 4xx answers are final. */
  readonly attempts?: number;
}

/** The agent's side of the control-plane protocol. */
export class SchedulerClient {
  constructor(private readonly options: SchedulerClientOptions) {}

  /** `patience`: one attempt that may take `timeoutMs` (a slow register is waited for, not retried). */
  announce(request: AnnounceRequest, patience?: { readonly timeoutMs: number }): Promise<AnnounceResponse> {
    return this.call('POST', '/v1/announce', request, announceResponseSchema, patience ? 1 : undefined, patience?.timeoutMs);
  }

  publishDigests(taskId: string, peerId: string, site: string, digests: DigestMap): Promise<{ accepted: number; digestCount: number }> {
    return this.call('POST', `/v1/tasks/${taskId}/digests`, { peerId, site, digests }, publishDigestsResponseSchema);
  }

  /** A piece read from the origin differs from the vouched digest (POST /v1/tasks/:id/incidents). */
  reportIncident(taskId: string, incident: IncidentRequest): Promise<{ quarantined: boolean }> {
    return this.call('POST', `/v1/tasks/${taskId}/incidents`, incident, incidentResponseSchema);
  }

  manifest(taskId: string): Promise<ManifestResponse> {
    return this.call('GET', `/v1/tasks/${taskId}/digests`, undefined, manifestResponseSchema);
  }

  /** The URL's current task and its swarm, without joining it (for `mayfly stat`). */
  swarm(url: string, cluster?: string): Promise<SwarmResponse> {
    const query = new URLSearchParams({ url, ...(cluster ? { cluster } : {}) });
    return this.call('GET', `/v1/tasks?${query}`, undefined, swarmResponseSchema);
  }

  /** One page of a prefix listing, made by the scheduler inside this agent's allowlist (GET /v1/listings). */
  listPage(request: ListingPageQuery): Promise<ListingResponse> {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(request)) if (value !== undefined && value !== '') query.set(name, String(value));
    return this.call('GET', `/v1/listings?${query}`, undefined, listingResponseSchema);
  }

  /** Opens the shared task of a pack of small objects (POST /v1/packs, core/pack.ts). */
  openPack(request: PackRequest): Promise<TaskInfo> {
    return this.call('POST', PACKS_ROUTE, request, taskInfoSchema);
  }

  async leave(taskId: string, peerId: string, site: string): Promise<void> {
    await this.call('POST', `/v1/tasks/${taskId}/leave`, { peerId, site }, undefined);
  }

  /** The host heartbeat: one attempt, since a failed beat is simply retried on the next interval. */
  heartbeat(request: HeartbeatRequest): Promise<HeartbeatResponse> {
    return this.call('POST', '/v1/hosts/heartbeat', request, heartbeatResponseSchema, 1);
  }

  private async call<T>(method: string, path: string, body: unknown, schema: z.ZodType<T> | undefined, attempts = this.options.attempts ?? 3, timeoutMs = this.options.timeoutMs ?? 5_000): Promise<T> {
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep(jitteredBackoff(200, attempt));
      let response: Response;
      try {
        const url = `${this.options.baseUrl}${path}`;
        const payload = body === undefined ? undefined : JSON.stringify(body);
        let headers: Record<string, string> = {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.options.token && !this.options.sign ? { authorization: `Bearer ${this.options.token}` } : {}),
        };
        // Signed per attempt: a SigV4 signature carries its time and expires.
        if (this.options.sign) headers = await this.options.sign({ method, url, headers, body: payload });
        response = await fetch(url, {
          method,
          headers,
          body: payload,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (cause) {
        lastError = new UnavailableError(`scheduler unreachable at ${this.options.baseUrl}: ${(cause as Error).message}`, { cause });
        continue;
      }
      const text = await response.text().catch(() => '');
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      if (response.ok) return schema ? parseWith(schema, json, 'scheduler answer') : (json as T);
      lastError = errorFromWire(response.status, json, `scheduler answered ${response.status}`);
      if (response.status < 500) throw lastError;
    }
    throw lastError;
  }
}
