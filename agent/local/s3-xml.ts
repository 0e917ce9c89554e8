import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { errorAnswer } from '../../core/http-answer.ts';

/**
 * S3's error vocabulary and XML error body, so SDKs and the aws CLI raise
 * the error names their users already handle (NoSuchKey, AccessDenied, …).
 */
export interface S3ErrorCode {
  readonly code: string;
  readonly status: number;
}

export const S3_ERRORS = {
  NoSuchKey: { code: 'NoSuchKey', status: 404 },
  NoSuchBucket: { code: 'NoSuchBucket', status: 404 },
  AccessDenied: { code: 'AccessDenied', status: 403 },
  InvalidRange: { code: 'InvalidRange', status: 416 },
  InvalidArgument: { code: 'InvalidArgument', status: 400 },
  InvalidBucketName: { code: 'InvalidBucketName', status: 400 },
  InvalidURI: { code: 'InvalidURI', status: 400 },
  PreconditionFailed: { code: 'PreconditionFailed', status: 412 },
  MethodNotAllowed: { code: 'MethodNotAllowed', status: 405 },
  NotImplemented: { code: 'NotImplemented', status: 501 },
  ServiceUnavailable: { code: 'ServiceUnavailable', status: 503 },
  SlowDown: { code: 'SlowDown', status: 503 },
  InternalError: { code: 'InternalError', status: 500 },
} as const satisfies Record<string, S3ErrorCode>;

/** An error the S3 endpoint answers with, in S3's terms. */
export class S3Error extends Error {
  constructor(
    readonly s3: S3ErrorCode,
    message: string,
    readonly extra: Readonly<Record<string, string>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'S3Error';
  }
}

/**
 * Maps Mayfly's typed errors to the S3 error a client of S3 would have seen,
 * from the same status every other Mayfly server answers (core/http-answer.ts).
 */
export function toS3Error(error: unknown, key?: string): S3Error {
  if (error instanceof S3Error) return error;
  const answer = errorAnswer(error);
  const message = answer.body.message;
  switch (answer.status) {
    case 404:
      return new S3Error(S3_ERRORS.NoSuchKey, 'The specified key does not exist.', key === undefined ? {} : { Key: key });
    case 401:
    case 403:
      return new S3Error(S3_ERRORS.AccessDenied, `Access Denied: ${message}`);
    case 400:
      return new S3Error(S3_ERRORS.InvalidArgument, message);
    case 503:
    case 502: // a parent failed mid-transfer
    case 409: { // the origin changed while it was read
      const throttled = /slow ?down|throttl/i.test(message);
      return new S3Error(throttled ? S3_ERRORS.SlowDown : S3_ERRORS.ServiceUnavailable, message, {}, { 'retry-after': answer.headers['retry-after'] ?? '1' });
    }
    default:
      return new S3Error(S3_ERRORS.InternalError, answer.internal ? 'We encountered an internal error. Please try again.' : message);
  }
}

export function newRequestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

export function errorXml(error: S3Error, resource: string, requestId: string): string {
  const fields: [string, string][] = [['Code', error.s3.code], ['Message', error.message], ...Object.entries(error.extra), ['Resource', resource], ['RequestId', requestId]];
  const body = fields.map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${body}</Error>`;
}

/** Writes an S3 error answer (no body for HEAD, as S3 does). */
export function sendS3Error(res: ServerResponse, error: S3Error, resource: string, requestId: string, head: boolean): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorXml(error, resource, requestId);
  res.writeHead(error.s3.status, {
    'content-type': 'application/xml',
    'content-length': head ? 0 : Buffer.byteLength(body),
    'x-amz-request-id': requestId,
    ...error.headers,
  });
  res.end(head ? undefined : body);
}
