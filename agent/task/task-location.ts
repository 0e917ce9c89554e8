import { parseOriginUrl, type OriginLocation } from '../../core/origin-url.ts';
import { isPackUrl, parsePackUrl } from '../../core/pack.ts';

/**
 * Where a task's bytes come from, from its URL alone. A pack's URL names no members
 * (the pull that opened it knew them, task/pack-pull.ts): a session found by URL, one
 * resumed from the cache or joined by a read, has none, so it can only take pieces
 * from peers and serve what it holds.
 */
export function locationOfTaskUrl(url: string): OriginLocation {
  if (!isPackUrl(url)) return parseOriginUrl(url);
  return { kind: 's3', bucket: parsePackUrl(url).bucket, key: '', pack: [] };
}
