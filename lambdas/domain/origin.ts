/** What the control plane reads of an origin (S3 or HTTP(S)): one HEAD per task, listings for preheat. */

export interface ObjectHead {
  /** Bytes. */
  readonly size: number;
  readonly etag: string;
  readonly versionId?: string;
}

export interface OriginReader {
  /** HeadObject; NotFoundError / ForbiddenError when S3 says so, UnavailableError otherwise. */
  head(bucket: string, key: string, versionId?: string): Promise<ObjectHead>;
  /**
   * A presigned GET URL for back-to-source, so agents need no S3 permission of
   * their own (Range is an unsigned header, so one URL serves every piece).
   */
  presignGet?(bucket: string, key: string, versionId: string | undefined, expiresInSeconds: number): Promise<string>;
}

/** The scheduler's look at an HTTP(S) origin: one HEAD per task. */
export interface HttpHeadReader {
  /**
   * HEAD without following redirects. `etag` is the task's version tag: the strong
   * ETag, else `last-modified:<Last-Modified>:<length>` (core/http-version.ts).
   * BadRequestError when no version can be pinned or the server redirects;
   * NotFoundError / ForbiddenError / UnavailableError as the server answers.
   */
  head(url: string): Promise<ObjectHead>;
}

export interface ListedObject {
  readonly key: string;
  readonly size: number;
}

/** The manager's look at a prefix for preheat. */
export interface PrefixLister {
  /** Objects under `prefix`; BadRequestError past `max`, NotFoundError / ForbiddenError / UnavailableError as S3 answers. */
  list(bucket: string, prefix: string, max: number): Promise<ListedObject[]>;
}

/** One object of a listing page, with S3's own metadata. */
export interface ListedObjectRecord {
  readonly key: string;
  /** Bytes. */
  readonly size: number;
  readonly etag: string;
  readonly lastModified: Date;
}

export interface ListingPageRequest {
  readonly bucket: string;
  readonly prefix: string;
  readonly delimiter?: string;
  readonly continuationToken?: string;
  readonly startAfter?: string;
  /** 1–1000. */
  readonly maxKeys: number;
}

export interface ListingPage {
  readonly objects: readonly ListedObjectRecord[];
  readonly commonPrefixes: readonly string[];
  readonly truncated: boolean;
  readonly nextContinuationToken?: string;
}

/** The scheduler's listing of a prefix, one S3 page (ListObjectsV2) per call. */
export interface ObjectLister {
  /** NotFoundError (no such bucket) / ForbiddenError / UnavailableError as S3 answers; BadRequestError for a bad token. */
  listPage(request: ListingPageRequest): Promise<ListingPage>;
}
