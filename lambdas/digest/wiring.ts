import { createS3Client, type S3ClientOptions } from '../stores/s3-client.ts';
import { createLogger, type Logger } from '../../core/log.ts';
import type { DigestDispatcher } from '../domain/digest.ts';
import { createDynamoClient, type DynamoClientOptions } from '../stores/dynamo-client.ts';
import { DynamoManifestStore } from '../stores/manifest-store.ts';
import { S3RangeReader } from '../stores/s3-range-reader.ts';
import { DynamoTaskStore } from '../stores/task-store.ts';
import type { MetricEmitter } from '../shared/metrics.ts';
import { DigestService } from './digest-service.ts';
import { ManifestIncidents } from './incidents.ts';

export interface DigestWiringOptions {
  readonly tableName: string;
  readonly dynamo?: DynamoClientOptions;
  /** S3 client options for the digest reads (locally: their own endpoint, outside the counted origin link). */
  readonly s3?: S3ClientOptions;
  readonly log?: Logger;
  readonly metrics?: MetricEmitter;
  /** Re-derivations after an incident found while hashing (absent: the quarantine runs out instead). */
  readonly dispatcher?: DigestDispatcher;
}

/** Builds the digest service from plain options; used by its Lambda handler and the Node scheduler alike. */
export function createDigestService(options: DigestWiringOptions) {
  const log = options.log ?? createLogger({ sink: (line) => console.log(line), fields: { service: 'digest' } });
  const dynamo = createDynamoClient(options.dynamo);
  const s3 = createS3Client(options.s3);
  const tasks = new DynamoTaskStore(dynamo, options.tableName);
  const manifests = new DynamoManifestStore(dynamo, options.tableName);
  const incidents = new ManifestIncidents({ tasks, manifests, log, metrics: options.metrics, dispatcher: options.dispatcher });
  const service = new DigestService({ reader: new S3RangeReader(s3), manifests, tasks, incidents, log, metrics: options.metrics });
  return { service, s3, dynamo };
}
