import { BadRequestError, ForbiddenError, NotFoundError, UnavailableError } from './errors.ts';

/**
 * How a task pins one version of an HTTP(S) artifact. A task must be
 * immutable, so the version tag is the server's strong ETag when it sends one;
 * otherwise Last-Modified together with the length. Weak ETags (W/"…") only
 * promise equivalent content, not equal bytes, so they do not count.
 */
export function httpVersionTag(headers: { etag?: string | null; lastModified?: string | null }, size: number, where: string): string {
  const etag = strongEtag(headers.etag ?? undefined);
  if (etag) return etag;
  const lastModified = headers.lastModified?.trim();
  if (lastModified) return `${LAST_MODIFIED_PREFIX}${lastModified}:${size}`;
  throw new BadRequestError(`${where}: origin gives no ETag or Last-Modified; cannot pin a version`, { context: { url: where } });
}

/** The ETag if it is strong (and sane), else undefined. */
export function strongEtag(value: string | undefined): string | undefined {
  const etag = value?.trim();
  if (!etag || etag.startsWith('W/') || etag.length > 1024 || /[\u0000-\u001f\u007f]/.test(etag)) return undefined;
  return etag;
}

/** What the agent checks each ranged read against, decoded from the task's version tag. */
export type HttpVersionCheck = { readonly etag: string } | { readonly lastModified: string; readonly size: number };

export function httpVersionCheck(tag: string): HttpVersionCheck {
  if (!tag.startsWith(LAST_MODIFIED_PREFIX)) return { etag: tag };
  const match = /^last-modified:(.+):(\d+)$/.exec(tag);
  if (!match) throw new BadRequestError(`malformed version tag ${JSON.stringify(tag)}`);
  return { lastModified: match[1], size: Number(match[2]) };
}

/**
 * Size and version tag from an origin's answer to HEAD, the same for the scheduler
 * and for an agent's direct fallback. Redirects are not followed: the allowlist
 * admitted this URL, not wherever it points.
 */
export function httpHeadOf(url: string, status: number, header: (name: string) => string | null | undefined): { size: number; etag: string } {
  const context = { url, status };
  if (status >= 300 && status < 400) {
    throw new BadRequestError(`${url}: origin answered ${status}; redirects are not followed (use the final URL)`, { context });
  }
  if (status === 404 || status === 410) throw new NotFoundError(`${url}: no such object (origin answered ${status})`, { context });
  if (status === 401 || status === 403) throw new ForbiddenError(`${url}: access denied by the origin (${status})`, { context });
  if (status >= 500 || status === 429) throw new UnavailableError(`${url}: origin answered ${status}`, { context: { ...context, retryAfterMs: 1000 } });
  if (status !== 200) throw new BadRequestError(`${url}: origin answered ${status} to HEAD`, { context });
  const encoding = header('content-encoding');
  if (encoding && encoding !== 'identity') {
    throw new BadRequestError(`${url}: origin sends content-encoding ${encoding}; only unencoded artifacts can be split into pieces`, { context });
  }
  const length = header('content-length');
  if (!length || !/^\d{1,15}$/.test(length)) throw new BadRequestError(`${url}: origin gives no Content-Length; cannot size the task`, { context });
  const size = Number(length);
  return { size, etag: httpVersionTag({ etag: header('etag'), lastModified: header('last-modified') }, size, url) };
}

const LAST_MODIFIED_PREFIX = 'last-modified:';
