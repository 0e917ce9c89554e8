import { BadRequestError } from './errors.ts';

export const MIN_PIECE_LENGTH = 4 * 1024 * 1024;
export const MAX_PIECE_LENGTH = 64 * 1024 * 1024;
const TARGET_PIECES = 500;

/** A power of two near size/500, clamped to 4–64 MiB. */
export function choosePieceLength(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new BadRequestError(`invalid object size ${size}`);
  const ideal = size / TARGET_PIECES;
  let length = MIN_PIECE_LENGTH;
  // Round to the nearest power of two (in log space), within the clamp.
  while (length < MAX_PIECE_LENGTH && ideal >= length * Math.SQRT2) length *= 2;
  return length;
}

export function pieceCountOf(size: number, pieceLength: number): number {
  if (size === 0) return 0;
  return Math.ceil(size / pieceLength);
}

export interface ByteRange {
  /** First byte, inclusive. */
  readonly start: number;
  /** Last byte, exclusive. */
  readonly end: number;
}

export function pieceRange(index: number, size: number, pieceLength: number): ByteRange {
  const count = pieceCountOf(size, pieceLength);
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new BadRequestError(`piece ${index} is outside 0..${count - 1}`);
  }
  const start = index * pieceLength;
  return { start, end: Math.min(size, start + pieceLength) };
}

/** Indexes of the pieces that overlap [start, end). */
export function piecesForRange(range: ByteRange, size: number, pieceLength: number): number[] {
  if (range.start < 0 || range.end > size || range.start > range.end) {
    throw new BadRequestError(`range ${range.start}-${range.end} is outside 0-${size}`);
  }
  if (range.start === range.end) return [];
  const first = Math.floor(range.start / pieceLength);
  const last = Math.floor((range.end - 1) / pieceLength);
  const pieces: number[] = [];
  for (let i = first; i <= last; i++) pieces.push(i);
  return pieces;
}

/**
 * Parses an HTTP `Range: bytes=…` header (single range) against a size.
 * Returns undefined for no header; throws BadRequestError with code context
 * `unsatisfiable` when the range lies outside the object.
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined || header === '') return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) {
    throw new BadRequestError(`malformed range ${JSON.stringify(header)}; expected bytes=START-END`, { context: { unsatisfiable: false } });
  }
  const [, a, b] = match;
  let start: number;
  let endInclusive: number;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) throw new BadRequestError('empty suffix range', { context: { unsatisfiable: true } });
    start = Math.max(0, size - suffix);
    endInclusive = size - 1;
  } else {
    start = Number(a);
    endInclusive = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (!Number.isSafeInteger(start) || start >= size || endInclusive < start) {
    throw new BadRequestError(`range ${header} is not satisfiable for ${size} bytes`, { context: { unsatisfiable: true } });
  }
  return { start, end: endInclusive + 1 };
}
