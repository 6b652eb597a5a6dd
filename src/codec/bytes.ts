/**
 * Little-endian binary writer and bounds-checked reader shared by every codec. The reader is the
 * first line of defence against damaged blocks: any out-of-range read or malformed field becomes a
 * SopError('CORRUPT') instead of a RangeError or a silently wrong value.
 */
import { corrupt, invalid } from '../errors/sop-error.js';
import { formatUuid, writeUuid } from '../util/uuid.js';

/** Varints carry at most 53 bits (safe integers): 8 groups of 7 bits. */
const MAX_VARINT_BYTES = 8;

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Below this length an ASCII string is decoded by hand: cheaper than a TextDecoder call. */
const SMALL_ASCII = 24;

/** Bytes taken by `varuint(v)`. */
export function varuintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** True if `s` has no lone surrogate, i.e. survives a UTF-8 round trip unchanged. */
export function isWellFormedString(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.pos;
  }

  u8(v: number): void {
    checkUint(v, 0xff, 'u8');
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    checkUint(v, 0xffff, 'u16');
    this.ensure(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  u32(v: number): void {
    checkUint(v, 0xffffffff, 'u32');
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  f64(v: number): void {
    if (typeof v !== 'number') throw invalid(`f64: not a number: ${String(v)}`);
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** Unsigned LEB128, 0 ..= Number.MAX_SAFE_INTEGER, always minimal. */
  varuint(v: number): void {
    checkUint(v, Number.MAX_SAFE_INTEGER, 'varuint');
    this.ensure(MAX_VARINT_BYTES);
    const buf = this.buf;
    let pos = this.pos;
    while (v > 0x7fffffff) {
      buf[pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /**
   * Zigzag varint for any safe integer. The sign goes in bit 0 of the first byte and the rest is
   * built from the magnitude directly, because 2|n|+1 is not exact in float64 above 2^52.
   */
  varint(n: number): void {
    if (!Number.isSafeInteger(n)) throw invalid(`varint: not a safe integer: ${String(n)}`);
    const sign = n < 0 ? 1 : 0;
    const m = sign ? -n - 1 : n;
    const first = ((m % 64) << 1) | sign;
    const rest = Math.floor(m / 64);
    if (rest === 0) {
      this.u8(first);
    } else {
      this.u8(first | 0x80);
      this.varuint(rest);
    }
  }

  /** Raw bytes, no length prefix. */
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Length-prefixed bytes. */
  bytes(bytes: Uint8Array): void {
    this.varuint(bytes.length);
    this.raw(bytes);
  }

  /** Length-prefixed UTF-8. Lone surrogates are refused: UTF-8 cannot carry them faithfully. */
  string(s: string): void {
    if (typeof s !== 'string') throw invalid(`string: not a string: ${String(s)}`);
    if (!isWellFormedString(s)) throw invalid('string contains a lone UTF-16 surrogate');
    const max = s.length * 3;
    const guessed = varuintSize(max);
    // Room for the longest prefix too, so that varuint() below never regrows (and loses) the text.
    this.ensure(MAX_VARINT_BYTES + max);
    const start = this.pos;
    const { written } = ENCODER.encodeInto(s, this.buf.subarray(start + guessed));
    const actual = varuintSize(written);
    if (actual !== guessed) this.buf.copyWithin(start + actual, start + guessed, start + guessed + written);
    this.varuint(written);
    this.pos += written;
  }

  /** A canonical UUID string as its 16 bytes. */
  uuid(id: string): void {
    this.ensure(16);
    writeUuid(id, this.buf, this.pos);
    this.pos += 16;
  }

  /** A right-sized copy of everything written; the writer may be reused afterwards. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

function checkUint(v: number, max: number, what: string): void {
  if (!(Number.isInteger(v) && v >= 0 && v <= max)) throw invalid(`${what}: out of range: ${String(v)}`);
}

export class ByteReader {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private pos = 0;

  /** `what` names the data in error messages (e.g. "node 1f2e…"). */
  constructor(
    bytes: Uint8Array,
    readonly what = 'data',
  ) {
    this.buf = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** Decoders call this last: trailing garbage means the block is not what we think it is. */
  expectEnd(): void {
    if (this.pos !== this.buf.length) {
      throw corrupt(`${this.what}: ${this.buf.length - this.pos} unexpected trailing bytes at offset ${this.pos}`);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  varuint(): number {
    const b0 = this.u8();
    if (b0 < 0x80) return b0;
    const v = (b0 & 0x7f) + 128 * this.varTail();
    if (v > Number.MAX_SAFE_INTEGER) throw corrupt(`${this.what}: varint exceeds 2^53 at offset ${this.pos}`);
    return v;
  }

  varint(): number {
    const b0 = this.u8();
    const sign = b0 & 1;
    let m = (b0 >>> 1) & 63;
    if (b0 & 0x80) m += 64 * this.varTail();
    if (m + sign > Number.MAX_SAFE_INTEGER) throw corrupt(`${this.what}: varint exceeds 2^53 at offset ${this.pos}`);
    return sign ? -m - 1 : m;
  }

  /** A view (not a copy) of the next `n` bytes. */
  raw(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Length-prefixed bytes, as a view into the input (copy it if it must outlive the input). */
  bytes(): Uint8Array {
    return this.raw(this.varuint());
  }

  string(): string {
    const n = this.varuint();
    this.need(n);
    const start = this.pos;
    this.pos += n;
    if (n <= SMALL_ASCII) {
      const s = this.asciiOrNull(start, n);
      if (s !== null) return s;
    }
    try {
      return DECODER.decode(this.buf.subarray(start, start + n));
    } catch (error) {
      throw corrupt(`${this.what}: invalid UTF-8 at offset ${start}`, error);
    }
  }

  uuid(): string {
    this.need(16);
    const s = formatUuid(this.buf, this.pos);
    this.pos += 16;
    return s;
  }

  private asciiOrNull(start: number, n: number): string | null {
    let s = '';
    for (let i = start; i < start + n; i++) {
      const b = this.buf[i]!;
      if (b >= 0x80) return null;
      s += String.fromCharCode(b);
    }
    return s;
  }

  /** Value of the continuation groups after a varint's first byte; rejects overlong forms. */
  private varTail(): number {
    let value = 0;
    let scale = 1;
    for (let i = 1; i < MAX_VARINT_BYTES; i++) {
      const b = this.u8();
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (b === 0) throw corrupt(`${this.what}: non-minimal varint at offset ${this.pos - 1}`);
        return value;
      }
      scale *= 128;
    }
    throw corrupt(`${this.what}: varint longer than ${MAX_VARINT_BYTES} bytes at offset ${this.pos}`);
  }

  private need(n: number): void {
    if (n > this.buf.length - this.pos) {
      throw corrupt(`${this.what}: truncated (need ${n} bytes at offset ${this.pos}, have ${this.buf.length - this.pos})`);
    }
  }
}
