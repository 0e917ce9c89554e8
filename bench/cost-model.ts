/**
 * Dollars for one distribution, from request counts the control bench
 * measured. Prices: AWS us-east-1 list prices (on-demand), checked 2025.
 */
export const PRICES = {
  lambdaPerRequest: 0.2 / 1e6,
  /** arm64, per GB-second. */
  lambdaPerGbSecond: 0.0000133334,
  /** DynamoDB on-demand: per write request unit and read request unit. */
  dynamoPerWru: 0.625 / 1e6,
  dynamoPerRru: 0.125 / 1e6,
  /** S3 Standard GET/HEAD, per request. */
  s3PerGet: 0.0004 / 1000,
  /** S3 Standard LIST (ListObjectsV2), per request. */
  s3PerList: 0.005 / 1000,
  /** S3 egress to the internet / an edge site, per GB (first 10 TB tier). */
  s3EgressPerGb: 0.09,
} as const;

export interface ControlPlaneUsage {
  readonly announces: number;
  readonly otherRequests: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  /** Billed Lambda duration per request, seconds. */
  readonly lambdaSeconds: number;
  readonly lambdaMemoryGb: number;
  readonly s3Gets: number;
}

export interface Cost {
  readonly lambdaRequests: number;
  readonly lambdaCompute: number;
  readonly dynamoWrites: number;
  readonly dynamoReads: number;
  readonly s3Requests: number;
  readonly controlPlane: number;
}

export function controlPlaneCost(usage: ControlPlaneUsage): Cost {
  const requests = usage.announces + usage.otherRequests;
  const lambdaRequests = requests * PRICES.lambdaPerRequest;
  const lambdaCompute = requests * usage.lambdaSeconds * usage.lambdaMemoryGb * PRICES.lambdaPerGbSecond;
  const dynamoWrites = usage.writeUnits * PRICES.dynamoPerWru;
  const dynamoReads = usage.readUnits * PRICES.dynamoPerRru;
  const s3Requests = usage.s3Gets * PRICES.s3PerGet;
  return { lambdaRequests, lambdaCompute, dynamoWrites, dynamoReads, s3Requests, controlPlane: lambdaRequests + lambdaCompute + dynamoWrites + dynamoReads + s3Requests };
}

/** Every host pulls the whole object straight from S3 (one GET per `rangeBytes`). */
export function directFromS3Cost(objectBytes: number, hosts: number, rangeBytes: number): { egress: number; requests: number; total: number } {
  const egress = (hosts * objectBytes * PRICES.s3EgressPerGb) / 1e9;
  const requests = hosts * Math.ceil(objectBytes / rangeBytes) * PRICES.s3PerGet;
  return { egress, requests, total: egress + requests };
}
