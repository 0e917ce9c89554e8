import { BadRequestError } from './errors.ts';
import { isHexId } from './ids.ts';
import { choosePieceLength, pieceCountOf } from './piece-math.ts';
import { sha256Hex } from './task-id.ts';
import type { TaskInfo } from './wire/scheduler.ts';

/**
 * Packs: a tree's small objects pulled as one shared task. A pack is the
 * concatenation, in key order, of up to PACK_MAX_MEMBERS objects of one bucket, each
 * pinned to the ETag its listing showed; its task id is the sha256 of that canonical
 * member list, so every host that lists the same tree forms the same packs and joins
 * one swarm per pack instead of one per object. Pure layout math; no I/O.
 */

/** One object of a pack, as the tree's listing showed it. */
export interface PackMember {
  readonly key: string;
  /** Bytes. */
  readonly size: number;
  /** S3's ETag, quoted as S3 sends it; reads of the member are pinned to it. */
  readonly etag: string;
}

/** An object at most this big is packed (one piece of the smallest piece length). */
export const PACK_MEMBER_MAX_BYTES = 4 * 1024 * 1024;
/** Members of one pack at most: keeps the member list, and the holder's presigned URLs, small. */
export const PACK_MAX_MEMBERS = 64;
/** Bytes of one pack at most (4 pieces of 4 MiB). */
export const PACK_MAX_BYTES = 16 * 1024 * 1024;
/** Fewer objects than this are not worth a pack: they are pulled one by one. */
export const PACK_MIN_MEMBERS = 2;

const PACK_SCHEME = 'mayfly-pack://';

/** The pack's task id: sha256 of its bucket and canonical member list (key, ETag, size per line). */
export function packIdOf(bucket: string, members: readonly PackMember[]): string {
  const lines = members.map((member) => `${JSON.stringify(member.key)}\t${member.etag}\t${member.size}`);
  return sha256Hex(`mayfly-pack/1\n${bucket}\n${lines.join('\n')}`);
}

/** The pack's URL, what its task record and announces carry: `mayfly-pack://BUCKET/ID`. */
export function packUrlOf(bucket: string, id: string): string {
  return `${PACK_SCHEME}${bucket}/${id}`;
}

export function isPackUrl(url: string): boolean {
  return typeof url === 'string' && url.startsWith(PACK_SCHEME);
}

/** BadRequestError unless `url` is a pack URL. */
export function parsePackUrl(url: string): { bucket: string; id: string } {
  const match = /^mayfly-pack:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/([0-9a-f]{64})$/.exec(url);
  if (!match) throw new BadRequestError('not a pack URL; expected mayfly-pack://BUCKET/ID');
  return { bucket: match[1], id: match[2] };
}

/**
 * Why `members` is no valid pack, or undefined: 2..PACK_MAX_MEMBERS members, each at most
 * PACK_MEMBER_MAX_BYTES, in strictly ascending key order (the canonical order), at most
 * PACK_MAX_BYTES in all.
 */
export function packProblem(members: readonly PackMember[]): string | undefined {
  if (members.length < PACK_MIN_MEMBERS || members.length > PACK_MAX_MEMBERS) return `a pack holds ${PACK_MIN_MEMBERS} to ${PACK_MAX_MEMBERS} objects`;
  let total = 0;
  for (let i = 0; i < members.length; i++) {
    const member = members[i];
    if (member.size > PACK_MEMBER_MAX_BYTES) return `${JSON.stringify(member.key)} is over ${PACK_MEMBER_MAX_BYTES} bytes, too big for a pack`;
    if (i > 0 && !(members[i - 1].key < member.key)) return 'pack members must be in ascending key order, each key once';
    total += member.size;
  }
  if (total > PACK_MAX_BYTES) return `a pack holds at most ${PACK_MAX_BYTES} bytes`;
  return undefined;
}

/** The task of a pack: id from the member list, pieces over the concatenation. `etag` names the pack's version (its id). */
export function packTaskInfo(bucket: string, members: readonly PackMember[]): TaskInfo {
  const problem = packProblem(members);
  if (problem) throw new BadRequestError(problem);
  const id = packIdOf(bucket, members);
  const size = members.reduce((sum, member) => sum + member.size, 0);
  const pieceLength = choosePieceLength(size);
  return { id, url: packUrlOf(bucket, id), size, etag: `"pack-${id.slice(0, 32)}"`, pieceLength, pieceCount: pieceCountOf(size, pieceLength) };
}

/** Where each member starts in the pack (bytes). */
export function memberOffsets(members: readonly PackMember[]): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const member of members) {
    offsets.push(at);
    at += member.size;
  }
  return offsets;
}

/** The part of one member that a pack range covers: member bytes [start, end). */
export interface MemberSpan {
  readonly index: number;
  readonly start: number;
  readonly end: number;
}

/** The members' bytes that make up pack bytes [start, end), in order (empty members are skipped). */
export function memberSpans(members: readonly PackMember[], start: number, end: number): MemberSpan[] {
  const spans: MemberSpan[] = [];
  const offsets = memberOffsets(members);
  for (let i = 0; i < members.length; i++) {
    const from = Math.max(start, offsets[i]);
    const to = Math.min(end, offsets[i] + members[i].size);
    if (from < to) spans.push({ index: i, start: from - offsets[i], end: to - offsets[i] });
  }
  return spans;
}

/**
 * A tree's objects grouped into packs: objects of at most PACK_MEMBER_MAX_BYTES, in key
 * order, cut into runs of at most PACK_MAX_MEMBERS members and PACK_MAX_BYTES. The rest
 * (bigger objects, and a run too short to pack) are pulled one by one. The same listing
 * always gives the same packs, on every host.
 */
export function planPacks<T extends PackMember>(objects: readonly T[]): { packs: T[][]; singles: T[] } {
  const small = objects.filter((object) => object.size <= PACK_MEMBER_MAX_BYTES).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const singles = objects.filter((object) => object.size > PACK_MEMBER_MAX_BYTES);
  const packs: T[][] = [];
  let run: T[] = [];
  let bytes = 0;
  for (const object of small) {
    if (run.length === PACK_MAX_MEMBERS || bytes + object.size > PACK_MAX_BYTES) {
      packs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(object);
    bytes += object.size;
  }
  if (run.length > 0) packs.push(run);
  const kept = packs.filter((pack) => pack.length >= PACK_MIN_MEMBERS);
  for (const pack of packs) if (pack.length < PACK_MIN_MEMBERS) singles.push(...pack);
  return { packs: kept, singles };
}

/** A pack id as the wire carries it. */
export function assertPackId(value: unknown): string {
  if (!isHexId(value)) throw new BadRequestError('pack id must be 64 lowercase hex characters');
  return value;
}
