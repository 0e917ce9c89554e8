import { DEFAULTS } from '../../core/constants.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { CreatePreheatRequest } from '../../core/wire/manager.ts';
import { originAllowed } from '../../core/allowlist.ts';
import { canonicalS3Url, originAllowedBy, parseLiteralS3Url, type S3Location } from '../../core/origin-url.ts';
import type { ClusterStore } from '../domain/cluster.ts';
import type { HostStore } from '../domain/host.ts';
import type { OriginReader, PrefixLister } from '../domain/origin.ts';
import { newPreheatJobId, type PreheatJob, type PreheatSource, type PreheatStore } from '../domain/preheat.ts';

export interface PreheatServiceOptions {
  readonly jobs: Pick<PreheatStore, 'create' | 'get' | 'list'>;
  readonly hosts: Pick<HostStore, 'liveSeeds'>;
  readonly clusters: Pick<ClusterStore, 'get' | 'list'>;
  readonly origin: OriginReader;
  readonly lister: PrefixLister;
  readonly log: Logger;
  /** Seeds seen within this long count as live when a job's sites are chosen. */
  readonly seedLiveMs: number;
  /** Most objects one prefix preheat may cover. */
  readonly maxObjects?: number;
  readonly now?: () => number;
}

// The prefix is literal, like a key: `?`, `#` and `%` are part of it.
const PREFIX_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/([\s\S]*)$/;

/**
 * Preheat: put an object (or every object under a prefix) on the seeds of
 * the target sites before anyone asks, so the first real pull finds it warm.
 * Jobs are picked up by seeds with their heartbeat (see scheduler/heartbeat.ts).
 */
export class PreheatService {
  private readonly now: () => number;

  constructor(private readonly deps: PreheatServiceOptions) {
    this.now = deps.now ?? Date.now;
  }

  /** `request.url` names the key literally, as the AWS CLI does (`s3://bucket/a%20b` is the key `a%20b`). */
  async create(request: CreatePreheatRequest, source: PreheatSource = 'api', known?: S3Location): Promise<PreheatJob[]> {
    const cluster = request.cluster ?? DEFAULTS.site;
    const settings = (await this.deps.clusters.get(cluster))?.settings ?? {};
    // The scheduler's own rule (core/allowlist.ts): a preheat fetches nothing an announce could not.
    const allowed = (location: S3Location) => originAllowed(location, settings.allowedOrigins);
    let urls: string[];
    let items: { url: string; bytes: number }[] | undefined;
    if ((request.kind ?? 'object') === 'object') {
      const location = known ?? parseLiteralS3Url(request.url, request.versionId);
      if (!allowed(location)) throw new ForbiddenError(`${request.url} is outside the allowed origins of cluster ${cluster}`);
      await this.deps.origin.head(location.bucket, location.key, location.versionId);
      urls = [canonicalS3Url(location)];
    } else {
      if (request.versionId) throw new BadRequestError('versionId applies to kind object, not to a prefix');
      const match = PREFIX_URL.exec(request.url);
      if (!match) throw new BadRequestError(`not an S3 prefix: ${JSON.stringify(request.url)}; expected s3://bucket/prefix`);
      const [, bucket, prefix] = match;
      const objects = await this.deps.lister.list(bucket, prefix, this.deps.maxObjects ?? 1000);
      if (objects.length === 0) throw new NotFoundError(`no objects under ${request.url}`, { context: { bucket, prefix } });
      items = objects
        .map((object) => ({ location: { kind: 's3', bucket, key: object.key } as S3Location, bytes: object.size }))
        .filter((object) => allowed(object.location))
        .map((object) => ({ url: canonicalS3Url(object.location), bytes: object.bytes }));
      if (items.length === 0) throw new ForbiddenError(`${request.url} is outside the allowed origins of cluster ${cluster}`);
      // One job for the whole prefix, its objects as items (each still one seed pull, pinned and checked as any).
      urls = [`s3://${bucket}/${prefix}`];
    }
    const sites = request.sites ?? [...(await this.deps.hosts.liveSeeds(cluster, this.now() - this.deps.seedLiveMs)).keys()].sort();
    const jobs: PreheatJob[] = [];
    for (const url of urls) {
      const now = this.now();
      const job: PreheatJob = { id: newPreheatJobId(now), cluster, url, sites, source, state: 'pending', createdAt: now, updatedAt: now, doneBy: {} };
      if (items) {
        await this.deps.jobs.create(job, items);
        const bytes = items.reduce((sum, item) => sum + item.bytes, 0);
        jobs.push({ ...job, kind: 'prefix', itemCount: items.length, itemsDone: 0, itemsFailed: 0, bytes, bytesDone: 0 });
      } else {
        await this.deps.jobs.create(job);
        jobs.push(job);
      }
    }
    this.deps.log.info('preheat created', { cluster, source, jobs: jobs.length, objects: items?.length ?? jobs.length, sites });
    return jobs;
  }

  async list(cluster: string, limit: number): Promise<PreheatJob[]> {
    return this.deps.jobs.list(cluster, limit);
  }

  async get(cluster: string, id: string): Promise<PreheatJob> {
    const job = await this.deps.jobs.get(cluster, id);
    if (!job) throw new NotFoundError(`no preheat job ${id} in cluster ${cluster}`, { context: { id, cluster } });
    return job;
  }

  /** An object was created in S3: preheat it on every cluster whose preheatOrigins cover it. */
  async objectCreated(bucket: string, key: string): Promise<PreheatJob[]> {
    // No versionId: users pull the plain URL, which now resolves to this version.
    const location: S3Location = { kind: 's3', bucket, key };
    const url = canonicalS3Url(location);
    const jobs: PreheatJob[] = [];
    for (const cluster of await this.deps.clusters.list()) {
      // Unlike allowedOrigins, no preheatOrigins means no preheats.
      if (!cluster.settings.preheatOrigins?.some((entry) => originAllowedBy(entry, location))) continue;
      jobs.push(...(await this.create({ url, kind: 'object', cluster: cluster.name }, 's3-event', location)));
    }
    return jobs;
  }
}
