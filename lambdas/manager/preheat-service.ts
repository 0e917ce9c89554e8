import { DEFAULTS } from '../../core/constants.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { CreatePreheatRequest } from '../../core/wire/manager.ts';
import { canonicalS3Url, parseS3Url } from '../../core/origin-url.ts';
import type { OriginReader } from '../scheduler/ports.ts';
import type { ClusterRecord } from '../stores/cluster-store.ts';
import type { DynamoHostStore } from '../stores/host-store.ts';
import { DynamoPreheatStore, type PreheatJob, type PreheatSource } from '../stores/preheat-store.ts';
import type { S3PrefixLister } from '../stores/s3-lister.ts';

export interface PreheatServiceOptions {
  readonly jobs: Pick<DynamoPreheatStore, 'create' | 'get' | 'list'>;
  readonly hosts: Pick<DynamoHostStore, 'liveSeeds'>;
  readonly clusters: { get(name: string): Promise<ClusterRecord | undefined>; list(): Promise<ClusterRecord[]> };
  readonly origin: OriginReader;
  readonly lister: Pick<S3PrefixLister, 'list'>;
  readonly log: Logger;
  /** Seeds seen within this long count as live when a job's sites are chosen. */
  readonly seedLiveMs: number;
  /** Most objects one prefix preheat may cover. */
  readonly maxObjects?: number;
  readonly now?: () => number;
}

const PREFIX_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/([^?#]*)$/;

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

  async create(request: CreatePreheatRequest, source: PreheatSource = 'api'): Promise<PreheatJob[]> {
    const cluster = request.cluster ?? DEFAULTS.site;
    const settings = (await this.deps.clusters.get(cluster))?.settings ?? {};
    const allowed = (url: string) => {
      const path = url.slice('s3://'.length);
      return !settings.allowedOrigins || settings.allowedOrigins.some((prefix) => decodeURIComponent(path).startsWith(prefix));
    };
    let urls: string[];
    if ((request.kind ?? 'object') === 'object') {
      const location = parseS3Url(request.url);
      const url = canonicalS3Url(location);
      if (!allowed(url)) throw new ForbiddenError(`${request.url} is outside the allowed origins of cluster ${cluster}`);
      await this.deps.origin.head(location.bucket, location.key, location.versionId);
      urls = [url];
    } else {
      const match = PREFIX_URL.exec(request.url);
      if (!match) throw new BadRequestError(`not an S3 prefix: ${JSON.stringify(request.url)}; expected s3://bucket/prefix`);
      const [, bucket, prefix] = match;
      const objects = await this.deps.lister.list(bucket, prefix, this.deps.maxObjects ?? 1000);
      if (objects.length === 0) throw new NotFoundError(`no objects under ${request.url}`, { context: { bucket, prefix } });
      const all = objects.map((object) => canonicalS3Url({ kind: 's3', bucket, key: object.key }));
      urls = all.filter(allowed);
      if (urls.length === 0) throw new ForbiddenError(`${request.url} is outside the allowed origins of cluster ${cluster}`);
    }
    const sites = request.sites ?? [...(await this.deps.hosts.liveSeeds(cluster, this.now() - this.deps.seedLiveMs)).keys()].sort();
    const jobs: PreheatJob[] = [];
    for (const url of urls) {
      const now = this.now();
      const job: PreheatJob = { id: DynamoPreheatStore.newId(now), cluster, url, sites, source, state: 'pending', createdAt: now, updatedAt: now, doneBy: {} };
      await this.deps.jobs.create(job);
      jobs.push(job);
    }
    this.deps.log.info('preheat created', { cluster, source, jobs: jobs.length, sites });
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
    const path = `${bucket}/${key}`;
    // No versionId: users pull the plain URL, which now resolves to this version.
    const url = canonicalS3Url({ kind: 's3', bucket, key });
    const jobs: PreheatJob[] = [];
    for (const cluster of await this.deps.clusters.list()) {
      if (!cluster.settings.preheatOrigins?.some((prefix) => path.startsWith(prefix))) continue;
      jobs.push(...(await this.create({ url, kind: 'object', cluster: cluster.name }, 's3-event')));
    }
    return jobs;
  }
}
