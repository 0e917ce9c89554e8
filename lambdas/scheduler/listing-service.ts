import { prefixListingAllowed } from '../../core/allowlist.ts';
import { DEFAULTS } from '../../core/constants.ts';
import { ForbiddenError } from '../../core/errors.ts';
import type { ListingQuery, ListingResponse } from '../../core/wire/scheduler.ts';
import type { ClusterSettingsSource } from '../domain/cluster.ts';
import type { Caller } from '../domain/identity.ts';
import type { ObjectLister } from '../domain/origin.ts';
import { settingsFor, type SchedulerSettings } from './settings.ts';

export interface ListingServiceOptions {
  readonly lister: ObjectLister;
  readonly settings: SchedulerSettings;
  readonly clusters?: ClusterSettingsSource;
}

/**
 * Listings of a prefix for agents, made with the scheduler's own S3 role (agents need
 * no list permission), only where the caller's cluster's allowlist admits every key
 * the listing could hold (core/allowlist.ts, prefixListingAllowed). Costs one S3
 * ListObjectsV2 per page of up to 1,000 keys and a cluster-settings read (cached).
 */
export class ListingService {
  constructor(private readonly deps: ListingServiceOptions) {}

  /** One page. ForbiddenError outside the allowlist (or an agent asking for another cluster); NotFoundError for an unknown cluster or bucket. */
  async list(query: ListingQuery, caller: Caller): Promise<ListingResponse> {
    const identity = caller.identity;
    if (identity.kind === 'agent' && query.cluster !== undefined && query.cluster !== identity.cluster) {
      throw new ForbiddenError('an agent may list under its own cluster\'s allowlist only', { context: { cluster: query.cluster } });
    }
    const cluster = identity.kind === 'agent' ? identity.cluster : (query.cluster ?? DEFAULTS.site);
    const settings = await settingsFor(this.deps.settings, this.deps.clusters, cluster);
    if (!prefixListingAllowed(query.bucket, query.prefix, settings.allowedOrigins)) {
      throw new ForbiddenError(`s3://${query.bucket}/${query.prefix} is outside the cluster's allowed origins; list a prefix inside an allowed entry`, {
        context: { bucket: query.bucket, prefix: query.prefix, cluster },
      });
    }
    const page = await this.deps.lister.listPage(query);
    return {
      bucket: query.bucket,
      prefix: query.prefix,
      objects: page.objects.map((object) => ({ key: object.key, size: object.size, etag: object.etag, lastModified: object.lastModified.toISOString() })),
      commonPrefixes: [...page.commonPrefixes],
      truncated: page.truncated,
      ...(page.nextContinuationToken ? { nextContinuationToken: page.nextContinuationToken } : {}),
    };
  }
}
