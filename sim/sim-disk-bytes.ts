/**
 * Byte storage and un-synced operations of one simulated file (see sim-disk.ts for the model).
 */

/** Sector size: the unit at which a torn write keeps or loses data. */
export const SECTOR = 512;

/** One change made since the file's last successful sync. `data` is a private copy. */
export type PendingOp =
  | { readonly kind: 'write'; readonly offset: number; readonly data: Uint8Array }
  | { readonly kind: 'truncate'; readonly size: number };

/**
 * A growable byte array. Invariant: bytes past `size` are zero, so growing (by a write past
 * the end or an extending truncate) exposes zeros, as a sparse file does.
 */
export class Bytes {
  private buf: Uint8Array;
  private length = 0;

  constructor(capacity = 0) {
    this.buf = new Uint8Array(capacity);
  }

  get size(): number {
    return this.length;
  }

  /** Copy of up to `len` bytes at `pos`; short at the end. */
  read(pos: number, len: number): Uint8Array {
    const end = Math.min(this.length, pos + len);
    return pos >= end ? new Uint8Array(0) : this.buf.slice(pos, end);
  }

  write(pos: number, data: Uint8Array): void {
    // pwrite of zero bytes does not extend a file.
    if (data.length === 0) return;
    const end = pos + data.length;
    this.ensure(end);
    this.buf.set(data, pos);
    this.length = Math.max(this.length, end);
  }

  truncate(size: number): void {
    if (size < this.length) this.buf.fill(0, size, this.length);
    else this.ensure(size);
    this.length = size;
  }

  apply(op: PendingOp): void {
    if (op.kind === 'write') this.write(op.offset, op.data);
    else this.truncate(op.size);
  }

  clone(): Bytes {
    const copy = new Bytes(this.length);
    copy.write(0, this.buf.subarray(0, this.length));
    return copy;
  }

  /** Copy of the whole content. */
  snapshot(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  private ensure(capacity: number): void {
    if (capacity <= this.buf.length) return;
    // Doubling keeps append-heavy files (logs) linear overall.
    const next = new Uint8Array(Math.max(capacity, this.buf.length * 2, 64));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
}
