import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Caller } from '../lambdas/domain/identity.ts';
import type { ListingService } from '../lambdas/scheduler/listing-service.ts';
import { localS3Client } from '../local/s3-server.ts';
import type { CapacityMeter } from './consumed-capacity.ts';
import { PRICES } from './cost-model.ts';
import { round } from './stats.ts';

export interface ListingCost {
  readonly keys: number;
  readonly pages: number;
  /** S3 requests (ListObjectsV2) the scheduler made per page of up to 1,000 keys. */
  readonly s3RequestsPerPage: number;
  /** DynamoDB units per page (the cluster's settings, cached per instance). */
  readonly readUnitsPerPage: number;
  readonly writeUnitsPerPage: number;
  /** Dollars per 1,000 keys listed: S3 LIST requests, DynamoDB reads, Lambda requests. */
  readonly dollarsPer1kKeys: number;
}

export interface ListingCostOptions {
  readonly listings: ListingService;
  readonly meter: CapacityMeter;
  /** S3 requests the scheduler's client made so far. */
  readonly s3Requests: () => number;
  readonly s3Endpoint: string;
  readonly bucket: string;
  readonly log: (line: string) => void;
  readonly keys?: number;
}

/**
 * What a tree listing costs the control plane (issue 18): `keys` small objects
 * under one prefix listed page by page through the scheduler's ListingService,
 * as `mayfly get -r` and the agent's S3 endpoint do, with DynamoDB units and S3
 * requests counted.
 */
export async function measureListingCost(options: ListingCostOptions): Promise<ListingCost> {
  const keys = options.keys ?? 2_500;
  const s3 = localS3Client(options.s3Endpoint);
  for (let i = 0; i < keys; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, keys - i) }, (_, j) => s3.send(new PutObjectCommand({ Bucket: options.bucket, Key: `tree/m/f-${String(i + j).padStart(6, '0')}.json`, Body: '{}' }))));
  }
  s3.destroy();
  const caller: Caller = { identity: { kind: 'agent', peerId: 'lister', cluster: 'default', site: 'site-a', seed: false, addrs: [] }, sourceIp: '10.0.0.1' };
  options.meter.reset();
  const s3Before = options.s3Requests();
  let pages = 0;
  let listed = 0;
  let continuationToken: string | undefined;
  do {
    const page = await options.listings.list({ bucket: options.bucket, prefix: 'tree/m/', maxKeys: 1000, continuationToken }, caller);
    pages++;
    listed += page.objects.length;
    continuationToken = page.truncated ? page.nextContinuationToken : undefined;
  } while (continuationToken);
  if (listed !== keys) throw new Error(`listed ${listed} keys, expected ${keys}`);
  const totals = options.meter.totals;
  const s3PerPage = (options.s3Requests() - s3Before) / pages;
  const readUnitsPerPage = totals.readUnits / pages;
  const dollarsPerPage = s3PerPage * PRICES.s3PerList + readUnitsPerPage * PRICES.dynamoPerRru + (totals.writeUnits / pages) * PRICES.dynamoPerWru + PRICES.lambdaPerRequest;
  const cost: ListingCost = {
    keys,
    pages,
    s3RequestsPerPage: round(s3PerPage, 2),
    readUnitsPerPage: round(readUnitsPerPage, 2),
    writeUnitsPerPage: round(totals.writeUnits / pages, 2),
    dollarsPer1kKeys: round((dollarsPerPage * pages * 1000) / keys, 8),
  };
  options.log(
    `listing: ${keys} keys in ${pages} pages through the scheduler: ${cost.s3RequestsPerPage} S3 LIST and ${cost.readUnitsPerPage} RRU / ${cost.writeUnitsPerPage} WRU per page of 1,000 keys; ` +
      `$${cost.dollarsPer1kKeys} per 1,000 keys per listing (a tree pull lists once per host)`,
  );
  return cost;
}
