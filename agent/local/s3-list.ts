import { ForbiddenError, NotFoundError } from '../../core/errors.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ListingPageQuery, ListingResponse } from '../../core/wire/scheduler.ts';
import { S3Error, S3_ERRORS, escapeXml } from './s3-xml.ts';

/** One page of a prefix listing from the control plane (SchedulerClient.listPage). */
export type ListPage = (query: ListingPageQuery) => Promise<ListingResponse>;

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
/** Bucket sub-resources other than listing and location: not offered (NotImplemented). */
const BUCKET_OPERATIONS = new Set([
  'acl', 'policy', 'policyStatus', 'versioning', 'versions', 'uploads', 'tagging', 'cors', 'lifecycle', 'logging', 'notification',
  'replication', 'website', 'encryption', 'object-lock', 'accelerate', 'requestPayment', 'ownershipControls', 'publicAccessBlock',
  'analytics', 'inventory', 'metrics', 'intelligent-tiering', 'delete',
]);

/**
 * Bucket-level reads of the agent's S3 endpoint: ListObjectsV2 (`list-type=2`: prefix,
 * delimiter, continuation-token, start-after, max-keys, encoding-type=url), ListObjects
 * (v1: marker), HeadBucket and GetBucketLocation. Every listing is asked of the control
 * plane afresh (the scheduler lists with its own role, inside this agent's allowlist), not
 * cached, so an incremental `aws s3 sync` sees a change at once; keys carry S3's own size,
 * ETag and LastModified.
 */
export class S3BucketReads {
  constructor(private readonly options: { readonly listPage: ListPage; readonly region?: string }) {}

  async handle(req: IncomingMessage, res: ServerResponse, bucket: string, query: URLSearchParams, requestId: string): Promise<void> {
    const head = req.method === 'HEAD';
    for (const name of query.keys()) {
      if (BUCKET_OPERATIONS.has(name)) throw new S3Error(S3_ERRORS.NotImplemented, `the ${JSON.stringify(name)} bucket operation is not implemented by the Mayfly agent; it lists and reads objects only`);
    }
    const region = this.options.region ?? 'us-east-1';
    if (head) {
      await this.headBucket(bucket);
      res.writeHead(200, { 'x-amz-request-id': requestId, 'x-amz-bucket-region': region, 'content-length': 0 });
      res.end();
      return;
    }
    if (query.has('location')) {
      // us-east-1 is S3's empty LocationConstraint.
      const constraint = region === 'us-east-1' ? `<LocationConstraint xmlns="${S3_NS}"/>` : `<LocationConstraint xmlns="${S3_NS}">${escapeXml(region)}</LocationConstraint>`;
      return sendXml(res, requestId, constraint);
    }
    return sendXml(res, requestId, query.get('list-type') === '2' ? await this.listV2(bucket, query) : await this.listV1(bucket, query));
  }

  /** The bucket exists as far as the control plane can tell: only its NoSuchBucket is an answer; a prefix-only allowlist still admits the bucket. */
  private async headBucket(bucket: string): Promise<void> {
    try {
      await this.list({ bucket, maxKeys: 1 });
    } catch (error) {
      if (!(error instanceof ForbiddenError)) throw error;
    }
  }

  private async listV2(bucket: string, query: URLSearchParams): Promise<string> {
    const common = parseCommon(query);
    const token = query.get('continuation-token') ?? undefined;
    if (token === '') throw new S3Error(S3_ERRORS.InvalidArgument, 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
    const startAfter = query.get('start-after') ?? undefined;
    const page = await this.page(bucket, common, { continuationToken: token, startAfter });
    const encode = encoderFor(common.encodingType);
    const fields = [
      el('Name', bucket), el('Prefix', encode(common.prefix)),
      ...(common.delimiter !== undefined ? [el('Delimiter', encode(common.delimiter))] : []),
      el('MaxKeys', String(common.maxKeys)),
      ...(common.encodingType ? [el('EncodingType', 'url')] : []),
      el('KeyCount', String(page.objects.length + page.commonPrefixes.length)),
      el('IsTruncated', String(page.truncated)),
      ...(token ? [el('ContinuationToken', token)] : []),
      ...(page.nextContinuationToken ? [el('NextContinuationToken', page.nextContinuationToken)] : []),
      ...(startAfter ? [el('StartAfter', encode(startAfter))] : []),
    ];
    return listResult(fields, page, encode);
  }

  private async listV1(bucket: string, query: URLSearchParams): Promise<string> {
    const common = parseCommon(query);
    const marker = query.get('marker') ?? '';
    // After a rolled-up folder, S3 skips everything under it: start after its last possible key.
    const startAfter = common.delimiter !== undefined && marker.endsWith(common.delimiter) ? `${marker}\u{10FFFF}` : marker;
    const page = await this.page(bucket, common, { startAfter: startAfter || undefined });
    const encode = encoderFor(common.encodingType);
    const last = [...page.objects.map((object) => object.key), ...page.commonPrefixes].sort().at(-1);
    const fields = [
      el('Name', bucket), el('Prefix', encode(common.prefix)), el('Marker', encode(marker)),
      ...(page.truncated && last !== undefined ? [el('NextMarker', encode(last))] : []),
      ...(common.delimiter !== undefined ? [el('Delimiter', encode(common.delimiter))] : []),
      el('MaxKeys', String(common.maxKeys)),
      ...(common.encodingType ? [el('EncodingType', 'url')] : []),
      el('IsTruncated', String(page.truncated)),
    ];
    return listResult(fields, page, encode);
  }

  private async page(bucket: string, common: CommonQuery, rest: { continuationToken?: string; startAfter?: string }): Promise<ListingResponse> {
    // max-keys=0 is a valid, empty answer; the control plane is not asked.
    if (common.maxKeys === 0) return { bucket, prefix: common.prefix, objects: [], commonPrefixes: [], truncated: false };
    return this.list({ bucket, prefix: common.prefix, delimiter: common.delimiter, maxKeys: common.maxKeys, ...rest });
  }

  /** The control plane's 404 here is about the bucket (S3 answers NoSuchBucket), not a key. */
  private async list(query: ListingPageQuery): Promise<ListingResponse> {
    try {
      return await this.options.listPage(query);
    } catch (error) {
      if (error instanceof NotFoundError) throw new S3Error(S3_ERRORS.NoSuchBucket, 'The specified bucket does not exist', { BucketName: query.bucket });
      throw error;
    }
  }
}

interface CommonQuery {
  readonly prefix: string;
  readonly delimiter?: string;
  readonly maxKeys: number;
  readonly encodingType?: 'url';
}

function parseCommon(query: URLSearchParams): CommonQuery {
  const rawMax = query.get('max-keys');
  const maxKeys = rawMax === null ? 1000 : /^\d{1,9}$/.test(rawMax) ? Math.min(Number(rawMax), 1000) : NaN;
  if (Number.isNaN(maxKeys)) throw new S3Error(S3_ERRORS.InvalidArgument, 'Provided max-keys not an integer or within integer range', { ArgumentName: 'max-keys', ArgumentValue: String(rawMax).slice(0, 64) });
  const encoding = query.get('encoding-type');
  if (encoding !== null && encoding !== 'url') throw new S3Error(S3_ERRORS.InvalidArgument, 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type', ArgumentValue: encoding.slice(0, 64) });
  const delimiter = query.get('delimiter') || undefined;
  if (delimiter !== undefined && delimiter.length > 16) throw new S3Error(S3_ERRORS.InvalidArgument, 'delimiter is longer than 16 characters', { ArgumentName: 'delimiter' });
  return { prefix: query.get('prefix') ?? '', delimiter, maxKeys, ...(encoding === 'url' ? { encodingType: 'url' as const } : {}) };
}

/** encoding-type=url: keys percent-encoded as S3 does (clients decode `+` as a space, so it is encoded too). */
function encoderFor(encodingType: 'url' | undefined): (text: string) => string {
  if (!encodingType) return (text) => text;
  return (text) => encodeURIComponent(text).replace(/%2F/g, '/');
}

function el(name: string, value: string): string {
  return `<${name}>${escapeXml(value)}</${name}>`;
}

function listResult(fields: string[], page: ListingResponse, encode: (text: string) => string): string {
  const contents = page.objects.map(
    (object) =>
      `<Contents>${el('Key', encode(object.key))}${el('LastModified', new Date(object.lastModified).toISOString())}${el('ETag', object.etag)}${el('Size', String(object.size))}${el('StorageClass', 'STANDARD')}</Contents>`,
  );
  const prefixes = page.commonPrefixes.map((prefix) => `<CommonPrefixes>${el('Prefix', encode(prefix))}</CommonPrefixes>`);
  return `<ListBucketResult xmlns="${S3_NS}">${fields.join('')}${contents.join('')}${prefixes.join('')}</ListBucketResult>`;
}

function sendXml(res: ServerResponse, requestId: string, body: string): void {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
  res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml), 'x-amz-request-id': requestId });
  res.end(xml);
}
