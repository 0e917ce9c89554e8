import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpListener } from '../http/http-server.ts';
import { stat } from 'node:fs/promises';
import { BadRequestError, OriginChangedError } from '../../core/errors.ts';
import { localRequestGuard } from '../http/local-request-guard.ts';
import type { Logger } from '../../core/log.ts';
import { canonicalS3Url, parseS3Url } from '../../core/origin-url.ts';
import { parseByteRange, type ByteRange } from '../../core/piece-math.ts';
import { sendRange } from './range-reader.ts';
import { S3Error, S3_ERRORS, newRequestId, sendS3Error, toS3Error } from './s3-xml.ts';
import type { TaskManager } from '../task/task-manager.ts';
import { S3BucketReads, type ListPage } from './s3-list.ts';

export interface S3EndpointOptions {
  readonly tasks: Pick<TaskManager, 'open' | 'lookup' | 'counted'>;
  readonly log: Logger;
  readonly host: string;
  readonly port: number;
  /** Listings from the control plane (ListObjects, HeadBucket); absent, bucket operations answer NotImplemented. */
  readonly listPage?: ListPage;
  /** What GetBucketLocation and HeadBucket answer (default us-east-1). */
  readonly region?: string;
}

/**
 * Sub-resources that make a GET or HEAD on a key another S3 operation than
 * GetObject/HeadObject (GetObjectAcl, GetObjectTagging, ListParts, a part of a
 * multipart object, …). Any other query parameter changes nothing: S3 ignores
 * parameters it does not know (cache-busters, SDK markers, presigned-URL auth).
 */
const OTHER_OPERATIONS = new Set(['acl', 'attributes', 'legal-hold', 'retention', 'tagging', 'torrent', 'uploadId', 'uploads', 'partNumber', 'select', 'select-type', 'restore']);
/** `response-*` overrides of GetObject, applied to the answer's headers. */
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
  'response-content-language': 'content-language',
  'response-cache-control': 'cache-control',
  'response-expires': 'expires',
};

interface ObjectRequest {
  readonly bucket: string;
  /** A bucket-level read (ListObjects, HeadBucket, GetBucketLocation), for S3BucketReads. */
  readonly bucketOnly?: boolean;
  readonly query: URLSearchParams;
  readonly key: string;
  readonly versionId?: string;
  readonly overrides: Record<string, string>;
}

/**
 * A read-only, S3-compatible endpoint on the agent: GetObject (with Range) and
 * HeadObject, path-style (`http://127.0.0.1:7403/BUCKET/KEY`), so the AWS SDKs
 * and `aws s3 cp --endpoint-url` pull through the swarm unchanged. Bytes stream
 * out as their pieces are verified; only pieces overlapping a range are fetched.
 *
 * It listens on loopback by default and ignores the SigV4 Authorization header:
 * anyone who can reach it can read what the agent may read (the scheduler's
 * allowlist still applies). Everything else S3 offers answers NotImplemented or
 * MethodNotAllowed in S3's XML error format.
 */
export class S3Endpoint {
  private listener?: HttpListener;
  private readonly lastModified = new Map<string, Date>();
  private readonly bucketReads?: S3BucketReads;

  constructor(private readonly options: S3EndpointOptions) {
    if (options.listPage) this.bucketReads = new S3BucketReads({ listPage: options.listPage, region: options.region });
  }

  async start(): Promise<number> {
    let port = this.options.port;
    const guard = localRequestGuard(this.options.host, () => port, false);
    this.listener = new HttpListener((req, res) => {
      const refusal = guard.check(req);
      if (!refusal) return void this.handle(req, res);
      res.setHeader('connection', 'close');
      // Web pages are refused like S3 refuses an unsigned request: AccessDenied.
      sendS3Error(res, new S3Error(S3_ERRORS.AccessDenied, `Access Denied: ${refusal.message}`), (req.url ?? '/').split('?')[0], newRequestId(), req.method === 'HEAD');
    }, { host: this.options.host, port: this.options.port });
    port = await this.listener.start();
    return port;
  }

  async stop(): Promise<void> {
    await this.listener?.stop();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    const head = req.method === 'HEAD';
    const resource = (req.url ?? '/').split('?')[0];
    let key: string | undefined;
    try {
      const request = this.parse(req);
      key = request.key;
      if (request.bucketOnly) return await this.bucketReads!.handle(req, res, request.bucket, request.query, requestId);
      for (let attempt = 1; ; attempt++) {
        try {
          await this.getObject(req, res, request, requestId, head);
          break;
        } catch (error) {
          // The object changed before its first byte went out: look it up again, serve the new version.
          if (!(error instanceof OriginChangedError) || res.headersSent || attempt >= 3) throw error;
        }
      }
    } catch (error) {
      const s3Error = toS3Error(error, key);
      if (s3Error.s3.status >= 500 && s3Error.s3.status !== 501) this.options.log.warn('S3 endpoint request failed', { method: req.method, resource, error });
      else this.options.log.debug('S3 endpoint request refused', { method: req.method, resource, code: s3Error.s3.code });
      // A refused upload is not read to its end: close the connection instead.
      if (!head && req.method !== 'GET') res.setHeader('connection', 'close');
      sendS3Error(res, s3Error, resource, requestId, head);
    }
  }

  /** Path-style addressing: /BUCKET/KEY[?versionId=…]. */
  private parse(req: IncomingMessage): ObjectRequest {
    const raw = req.url ?? '/';
    const mark = raw.indexOf('?');
    const path = mark >= 0 ? raw.slice(0, mark) : raw;
    const query = new URLSearchParams(mark >= 0 ? raw.slice(mark + 1) : '');
    if (!path.startsWith('/')) throw new S3Error(S3_ERRORS.InvalidURI, 'Couldn\'t parse the specified URI.');
    const slash = path.indexOf('/', 1);
    let bucket: string;
    let key: string;
    try {
      bucket = decodeURIComponent(slash >= 0 ? path.slice(1, slash) : path.slice(1));
      key = slash >= 0 ? decodeURIComponent(path.slice(slash + 1)) : '';
    } catch {
      throw new S3Error(S3_ERRORS.InvalidURI, 'Couldn\'t parse the specified URI.');
    }
    const readOnly = () => new S3Error(S3_ERRORS.MethodNotAllowed, `${req.method} is not allowed: this Mayfly endpoint only reads objects (GetObject, HeadObject)`, {}, { allow: 'GET, HEAD' });
    if (req.method !== 'GET' && req.method !== 'HEAD') throw readOnly();
    if (bucket === '') throw new S3Error(S3_ERRORS.NotImplemented, 'ListBuckets is not implemented by the Mayfly agent; address an object as /BUCKET/KEY');
    try {
      parseS3Url(`s3://${bucket}/k`);
    } catch {
      throw new S3Error(S3_ERRORS.InvalidBucketName, 'The specified bucket is not valid.', { BucketName: bucket });
    }
    if (key === '' && this.bucketReads) return { bucket, key, query, overrides: {}, bucketOnly: true };
    if (key === '') throw new S3Error(S3_ERRORS.NotImplemented, 'Bucket operations (ListObjects, HeadBucket, …) are not implemented by the Mayfly agent; only GetObject and HeadObject are');
    const overrides: Record<string, string> = {};
    let versionId: string | undefined;
    for (const [name, value] of query) {
      if (name === 'versionId') versionId = value;
      else if (RESPONSE_OVERRIDES[name]) overrides[RESPONSE_OVERRIDES[name]] = headerValue(name, value);
      else if (OTHER_OPERATIONS.has(name)) {
        throw new S3Error(S3_ERRORS.NotImplemented, `the ${JSON.stringify(name)} subresource is not implemented by the Mayfly agent; only GetObject and HeadObject are`);
      }
    }
    if (versionId === '') throw new S3Error(S3_ERRORS.InvalidArgument, 'Version id cannot be the empty string', { ArgumentName: 'versionId', ArgumentValue: '' });
    return { bucket, key, versionId, overrides, query };
  }

  private getObject(req: IncomingMessage, res: ServerResponse, request: ObjectRequest, requestId: string, head: boolean): Promise<void> {
    const url = canonicalS3Url({ kind: 's3', bucket: request.bucket, key: request.key, versionId: request.versionId });
    // A GetObject is a pull (metrics, the console's pulls column); a HeadObject only looks.
    return head ? this.answer(req, res, request, requestId, url, true) : this.options.tasks.counted(url, () => this.answer(req, res, request, requestId, url, false));
  }

  private async answer(req: IncomingMessage, res: ServerResponse, request: ObjectRequest, requestId: string, url: string, head: boolean): Promise<void> {
    // Resolves the URL's current task through the scheduler (or S3 directly when it is down).
    // A HEAD only looks the task up: no session, no cache entry, no file handle (the scheduler records no peer either).
    const session = head ? undefined : await this.options.tasks.open(url);
    const { task, files } = session ?? (await this.options.tasks.lookup(url));
    const lastModified = await this.lastModifiedOf(task.id, files?.dataPath);
    const headers: Record<string, string | number> = {
      'x-amz-request-id': requestId,
      etag: task.etag,
      'last-modified': lastModified.toUTCString(),
      'accept-ranges': 'bytes',
      ...(request.versionId ? { 'x-amz-version-id': request.versionId } : {}),
    };
    const precondition = checkPreconditions(req, task.etag, lastModified);
    if (precondition === 304) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    if (precondition !== undefined) throw new S3Error(S3_ERRORS.PreconditionFailed, 'At least one of the pre-conditions you specified did not hold', { Condition: precondition });

    let range: ByteRange | undefined;
    try {
      // If-Range: the range holds only for this very version; otherwise the whole object (200).
      range = rangeStillValid(req, task.etag, lastModified) ? parseByteRange(req.headers.range, task.size) : undefined;
    } catch (error) {
      if (error instanceof BadRequestError && error.context.unsatisfiable === true) {
        throw new S3Error(S3_ERRORS.InvalidRange, 'The requested range is not satisfiable', { RangeRequested: String(req.headers.range), ActualObjectSize: String(task.size) }, { 'content-range': `bytes */${task.size}` });
      }
      // Like S3 (and HTTP), a Range header that does not parse is ignored.
      range = undefined;
    }
    const partial = range !== undefined;
    const bytes = range ?? { start: 0, end: task.size };
    const writeHead = () =>
      res.writeHead(partial ? 206 : 200, {
        ...headers,
        'content-type': 'application/octet-stream',
        'content-length': bytes.end - bytes.start,
        ...(partial ? { 'content-range': `bytes ${bytes.start}-${bytes.end - 1}/${task.size}` } : {}),
        ...request.overrides,
      });
    if (!session) {
      writeHead();
      res.end();
      return;
    }
    await sendRange(session, bytes, res, writeHead, this.options.log);
  }

  /**
   * A stable Last-Modified per task: when this agent first stored it (the data
   * file's birth time), so a new version of an object always looks newer.
   */
  private async lastModifiedOf(id: string, dataPath: string | undefined): Promise<Date> {
    let date = this.lastModified.get(id);
    if (!date) {
      const born = dataPath ? await stat(dataPath).then((s) => s.birthtimeMs, () => 0) : 0;
      // Without a birth time: a fixed date derived from the task id (2020 plus up to a year).
      const ms = born > 0 ? born : Date.UTC(2020, 0, 1) + (parseInt(id.slice(0, 8), 16) % 31_536_000) * 1000;
      date = new Date(Math.floor(ms / 1000) * 1000);
      if (this.lastModified.size >= 1024) this.lastModified.delete(this.lastModified.keys().next().value!);
      this.lastModified.set(id, date);
    }
    return date;
  }
}

/**
 * An entity tag as S3 compares it: the value inside the quotes, with or without
 * them, weak (`W/`) or not.
 */
function tagValue(tag: string): string {
  return tag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

/** RFC 9110 conditional requests on the task's ETag and Last-Modified: 304, the failed condition (412), or go on. */
function checkPreconditions(req: IncomingMessage, etag: string, lastModified: Date): 304 | 'If-Match' | 'If-Unmodified-Since' | undefined {
  const ours = tagValue(etag);
  const matches = (header: string) => header.split(',').some((tag) => tag.trim() === '*' || tagValue(tag) === ours);
  const ifMatch = req.headers['if-match'];
  const ifNoneMatch = req.headers['if-none-match'];
  const ifUnmodified = Date.parse(req.headers['if-unmodified-since'] ?? '');
  const ifModified = Date.parse(req.headers['if-modified-since'] ?? '');
  if (ifMatch !== undefined) {
    if (!matches(ifMatch)) return 'If-Match';
  } else if (!Number.isNaN(ifUnmodified) && lastModified.getTime() > ifUnmodified) return 'If-Unmodified-Since';
  if (ifNoneMatch !== undefined) {
    if (matches(ifNoneMatch)) return 304;
  } else if (!Number.isNaN(ifModified) && lastModified.getTime() <= ifModified) return 304;
  return undefined;
}

/** False when If-Range names another version (a different ETag, or a date that is not this version's Last-Modified). */
function rangeStillValid(req: IncomingMessage, etag: string, lastModified: Date): boolean {
  const raw = req.headers['if-range'];
  const ifRange = Array.isArray(raw) ? raw[0] : raw;
  if (ifRange === undefined) return true;
  const date = Date.parse(ifRange);
  // A weak tag never matches If-Range (RFC 9110 13.1.5).
  if (Number.isNaN(date) || /^\s*(W\/)?"/.test(ifRange)) return !/^\s*W\//.test(ifRange) && tagValue(ifRange) === tagValue(etag);
  return Math.floor(lastModified.getTime() / 1000) === Math.floor(date / 1000);
}

/** A `response-*` override becomes a header: control characters (CR/LF, …) in it are a client error, as S3 says. */
function headerValue(name: string, value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new S3Error(S3_ERRORS.InvalidArgument, `${name} holds a character a header cannot`, { ArgumentName: name });
  }
  return value;
}
