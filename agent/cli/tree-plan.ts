import { BadRequestError } from '../../core/errors.ts';
import type { ListedObjectInfo } from '../../core/wire/scheduler.ts';
import { isTempName } from './output-file.ts';
import { TREE_STATE_FILE } from './tree-state.ts';

/** A file name may hold this many bytes (Linux, macOS); a path this many. */
export const MAX_NAME_BYTES = 255;
export const MAX_PATH_BYTES = 4095;

/** One object of a tree pull: where it lands under DIR (a relative path with `/`). */
export interface TreeItem extends ListedObjectInfo {
  readonly path: string;
}

/** What a tree pull does: the items, and the keys it refuses (with why). */
export interface TreePlan {
  readonly items: TreeItem[];
  readonly refused: { key: string; reason: string }[];
}

/**
 * `--include` / `--exclude` globs as the aws CLI reads them, against the path under
 * the prefix: `*` any run of characters (also `/`), `?` one character.
 */
export function globToRegExp(glob: string): RegExp {
  const body = [...glob].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, 'su');
}

/**
 * Why a relative path may not be written under DIR, or undefined when it may:
 * `.`/`..`/empty segments or a leading `/` would land elsewhere (or nowhere), a
 * backslash or NUL is no portable name, a name or path past the filesystem's
 * limits cannot be held, and the tree's state file and temp-file names are the
 * pull's own.
 */
export function unsafePathReason(path: string, dirBytes = 0): string | undefined {
  if (path === '') return 'the key is the prefix itself, so it has no name under DIR';
  if (path.startsWith('/')) return 'a leading "/" would write outside DIR';
  const segments = path.split('/');
  if (segments.some((segment) => segment === '..')) return 'a ".." segment would write outside DIR';
  if (segments.some((segment) => segment === '.' || segment === '')) return 'a "." or empty segment names no file';
  // The pull's own files: the object would be overwritten by the state, or removed as a killed pull's leftover.
  if (path === TREE_STATE_FILE || path.startsWith(`${TREE_STATE_FILE}.`)) return "the name is the tree's own state file";
  if (segments.some(isTempName)) return "the name is that of a pull's temp file";
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000]/.test(path)) return 'a backslash or NUL is no portable file name';
  if (segments.some((segment) => Buffer.byteLength(segment) > MAX_NAME_BYTES)) return `a name is longer than ${MAX_NAME_BYTES} bytes, more than the filesystem holds`;
  if (dirBytes + 1 + Buffer.byteLength(path) > MAX_PATH_BYTES) return `the path is longer than ${MAX_PATH_BYTES} bytes`;
  return undefined;
}

/**
 * The plan of a tree pull from a listing: each object under `prefix`, filtered by the
 * globs (an object is pulled when no include is given or one matches, and no exclude
 * matches), placed at its key less the prefix. Keys that would land outside DIR or that
 * the filesystem cannot hold are refused, never written elsewhere. Also refused: a key
 * that is a folder of another key (`a` and `a/b`), which no filesystem holds both of.
 */
export function planTree(objects: readonly ListedObjectInfo[], prefix: string, options: { include?: readonly string[]; exclude?: readonly string[]; dir?: string } = {}): TreePlan {
  const include = (options.include ?? []).map(globToRegExp);
  const exclude = (options.exclude ?? []).map(globToRegExp);
  const dirBytes = Buffer.byteLength(options.dir ?? '');
  const items: TreeItem[] = [];
  const refused: TreePlan['refused'] = [];
  for (const object of objects) {
    if (!object.key.startsWith(prefix)) throw new BadRequestError(`the listing answered ${JSON.stringify(object.key)}, outside ${JSON.stringify(prefix)}`);
    const path = object.key.slice(prefix.length);
    if (include.length > 0 && !include.some((glob) => glob.test(path))) continue;
    if (exclude.some((glob) => glob.test(path))) continue;
    const reason = unsafePathReason(path, dirBytes);
    if (reason) refused.push({ key: object.key, reason });
    else items.push({ ...object, path });
  }
  const paths = new Set(items.map((item) => item.path));
  const kept: TreeItem[] = [];
  for (const item of items) {
    const segments = item.path.split('/');
    const folderOfAnother = segments.slice(0, -1).map((_, i) => segments.slice(0, i + 1).join('/')).find((folder) => paths.has(folder));
    if (folderOfAnother) refused.push({ key: item.key, reason: `${JSON.stringify(folderOfAnother)} is both a file and a folder` });
    else kept.push(item);
  }
  return { items: kept, refused };
}
