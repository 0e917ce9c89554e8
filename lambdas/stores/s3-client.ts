import { S3Client } from '@aws-sdk/client-s3';
import type { DynamoClientOptions } from './dynamo-client.ts';

/** How a control-plane function reaches S3: the region's endpoint in AWS, a local S3-compatible server otherwise. */
export interface S3ClientOptions {
  readonly endpoint?: string;
  readonly region?: string;
  readonly forcePathStyle?: boolean;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
}

export function createS3Client(options: S3ClientOptions = {}): S3Client {
  return new S3Client({ region: options.region ?? process.env.AWS_REGION ?? 'us-east-1', ...options });
}

/** The state every control-plane function needs, from its environment (set by the CDK construct, or by hand for local servers). */
export interface StoreEnvironment {
  readonly tableName: string;
  readonly dynamo?: DynamoClientOptions;
  readonly s3?: S3ClientOptions;
}

/** MAYFLY_TABLE (required), MAYFLY_DYNAMODB_ENDPOINT and MAYFLY_S3_ENDPOINT (local servers only). Error when the table is not set. */
export function storeEnvironment(env: NodeJS.ProcessEnv): StoreEnvironment {
  const tableName = env.MAYFLY_TABLE;
  if (!tableName) throw new Error('MAYFLY_TABLE is not set');
  return {
    tableName,
    dynamo: env.MAYFLY_DYNAMODB_ENDPOINT ? { endpoint: env.MAYFLY_DYNAMODB_ENDPOINT } : undefined,
    s3: env.MAYFLY_S3_ENDPOINT ? { endpoint: env.MAYFLY_S3_ENDPOINT, forcePathStyle: true } : undefined,
  };
}
