import { BadRequestError } from './errors.ts';

/** A fixed-length set of piece indexes, one bit each, most significant bit first. */
export class Bitfield {
  readonly length: number;
  private readonly bytes: Uint8Array;
  private setCount = 0;

  constructor(length: number, bytes?: Uint8Array) {
    if (!Number.isInteger(length) || length < 0) throw new BadRequestError(`invalid bitfield length ${length}`);
    this.length = length;
    const byteLength = Math.ceil(length / 8);
    if (bytes && bytes.length !== byteLength) {
      throw new BadRequestError(`bitfield holds ${bytes.length} bytes, expected ${byteLength}`);
    }
    this.bytes = bytes ? Uint8Array.from(bytes) : new Uint8Array(byteLength);
    if (bytes) {
      // Bits past `length` must be zero, or two encodings would mean the same set.
      const spare = byteLength * 8 - length;
      if (spare > 0 && (this.bytes[byteLength - 1] & ((1 << spare) - 1)) !== 0) {
        throw new BadRequestError('bitfield has bits set past its length');
      }
      for (let i = 0; i < length; i++) if (this.has(i)) this.setCount++;
    }
  }

  static full(length: number): Bitfield {
    const field = new Bitfield(length);
    for (let i = 0; i < length; i++) field.set(i);
    return field;
  }

  static fromBase64(length: number, encoded: string): Bitfield {
    if (typeof encoded !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) {
      throw new BadRequestError('bitfield is not base64');
    }
    const binary = atob(encoded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return new Bitfield(length, bytes);
  }

  has(index: number): boolean {
    if (index < 0 || index >= this.length) return false;
    return (this.bytes[index >> 3] & (0x80 >> (index & 7))) !== 0;
  }

  set(index: number): void {
    this.check(index);
    if (!this.has(index)) {
      this.bytes[index >> 3] |= 0x80 >> (index & 7);
      this.setCount++;
    }
  }

  clear(index: number): void {
    this.check(index);
    if (this.has(index)) {
      this.bytes[index >> 3] &= ~(0x80 >> (index & 7));
      this.setCount--;
    }
  }

  get count(): number {
    return this.setCount;
  }

  get complete(): boolean {
    return this.setCount === this.length;
  }

  /** True when this set holds an index that `other` lacks (what a parent can tell a child that is news to it). */
  hasAnyNotIn(other: Bitfield): boolean {
    this.assertSameLength(other);
    for (let i = 0; i < this.bytes.length; i++) if ((this.bytes[i] & ~other.bytes[i]) !== 0) return true;
    return false;
  }

  /** The union of two sets of the same length, as a new bitfield. */
  union(other: Bitfield): Bitfield {
    this.assertSameLength(other);
    const bytes = new Uint8Array(this.bytes.length);
    for (let i = 0; i < bytes.length; i++) bytes[i] = this.bytes[i] | other.bytes[i];
    return new Bitfield(this.length, bytes);
  }

  private assertSameLength(other: Bitfield): void {
    if (other.length !== this.length) throw new BadRequestError(`bitfield lengths differ: ${this.length} and ${other.length}`);
  }

  /** Indexes that are set, in order. */
  indexes(): number[] {
    const result: number[] = [];
    for (let i = 0; i < this.length; i++) if (this.has(i)) result.push(i);
    return result;
  }

  toBytes(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }

  toBase64(): string {
    let binary = '';
    for (let i = 0; i < this.bytes.length; i += 0x8000) {
      binary += String.fromCharCode(...this.bytes.subarray(i, i + 0x8000));
    }
    return btoa(binary);
  }

  private check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new BadRequestError(`piece ${index} is outside 0..${this.length - 1}`);
    }
  }
}
