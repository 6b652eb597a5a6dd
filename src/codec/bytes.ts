/**
 * Little-endian binary writer and bounds-checked reader shared by every codec. The reader is the
 * first line of defence against damaged blocks: any out-of-range read or malformed field becomes a
 * SopError('CORRUPT') instead of a RangeError or a silently wrong value.
 */
import { corrupt, invalid } from '../errors/sop-error.js';

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

/**
 * Value of a lower-case hex digit by char code, and a large negative number for every other
 * code unit: a byte built from two lookups is negative iff either character is not a digit.
 */
const HEX_VALUE = (() => {
  const t = new Int16Array(65536).fill(-4096);
  for (let i = 0; i < 10; i++) t[48 + i] = i;
  for (let i = 0; i < 6; i++) t[97 + i] = 10 + i;
  return t;
})();

function hexByte(s: string, i: number): number {
  return (HEX_VALUE[s.charCodeAt(i)]! << 4) | HEX_VALUE[s.charCodeAt(i + 1)]!;
}

/**
 * Canonical UUID string (8-4-4-4-12 lower-case hex) -> 16 bytes at `offset` of `target`. Same
 * contract as util/uuid's writeUuid (INVALID_ARGUMENT on anything else, and then `target` may
 * hold partial bytes), without a regex and a substring per byte: node encoding writes several
 * ids per item.
 */
export function writeUuidBytes(uuid: string, target: Uint8Array, offset: number): void {
  if (typeof uuid === 'string' && uuid.length === 36 && uuid.charCodeAt(8) === 45 && uuid.charCodeAt(13) === 45 &&
    uuid.charCodeAt(18) === 45 && uuid.charCodeAt(23) === 45) {
    let bad = 0;
    let b: number;
    bad |= b = hexByte(uuid, 0); target[offset] = b;
    bad |= b = hexByte(uuid, 2); target[offset + 1] = b;
    bad |= b = hexByte(uuid, 4); target[offset + 2] = b;
    bad |= b = hexByte(uuid, 6); target[offset + 3] = b;
    bad |= b = hexByte(uuid, 9); target[offset + 4] = b;
    bad |= b = hexByte(uuid, 11); target[offset + 5] = b;
    bad |= b = hexByte(uuid, 14); target[offset + 6] = b;
    bad |= b = hexByte(uuid, 16); target[offset + 7] = b;
    bad |= b = hexByte(uuid, 19); target[offset + 8] = b;
    bad |= b = hexByte(uuid, 21); target[offset + 9] = b;
    bad |= b = hexByte(uuid, 24); target[offset + 10] = b;
    bad |= b = hexByte(uuid, 26); target[offset + 11] = b;
    bad |= b = hexByte(uuid, 28); target[offset + 12] = b;
    bad |= b = hexByte(uuid, 30); target[offset + 13] = b;
    bad |= b = hexByte(uuid, 32); target[offset + 14] = b;
    bad |= b = hexByte(uuid, 34); target[offset + 15] = b;
    if (bad >= 0) return;
  }
  throw invalid(`not a UUID: ${JSON.stringify(uuid)}`);
}

/** Char codes of the two hex digits of each byte value. */
const HEX_HI = new Uint16Array(256);
const HEX_LO = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  const h = i.toString(16).padStart(2, '0');
  HEX_HI[i] = h.charCodeAt(0);
  HEX_LO[i] = h.charCodeAt(1);
}

/**
 * 16 bytes -> canonical lower-case UUID string, like util/uuid's formatUuid, built in one call
 * (a flat string, not a chain of 20 concatenations): every item id of a decoded node goes here.
 */
export function readUuidString(b: Uint8Array, o: number): string {
  const h = HEX_HI;
  const l = HEX_LO;
  return String.fromCharCode(
    h[b[o]!]!, l[b[o]!]!, h[b[o + 1]!]!, l[b[o + 1]!]!, h[b[o + 2]!]!, l[b[o + 2]!]!, h[b[o + 3]!]!, l[b[o + 3]!]!, 45,
    h[b[o + 4]!]!, l[b[o + 4]!]!, h[b[o + 5]!]!, l[b[o + 5]!]!, 45,
    h[b[o + 6]!]!, l[b[o + 6]!]!, h[b[o + 7]!]!, l[b[o + 7]!]!, 45,
    h[b[o + 8]!]!, l[b[o + 8]!]!, h[b[o + 9]!]!, l[b[o + 9]!]!, 45,
    h[b[o + 10]!]!, l[b[o + 10]!]!, h[b[o + 11]!]!, l[b[o + 11]!]!, h[b[o + 12]!]!, l[b[o + 12]!]!,
    h[b[o + 13]!]!, l[b[o + 13]!]!, h[b[o + 14]!]!, l[b[o + 14]!]!, h[b[o + 15]!]!, l[b[o + 15]!]!,
  );
}

export class ByteWriter {
  private buf: Uint8Array;
  /** Created on first use: most writers only write bytes, varints and strings. */
  private dataView: DataView | null = null;
  private pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  private get view(): DataView {
    return (this.dataView ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
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

  /** Raw bytes `source[start, end)`, no length prefix. */
  rawRange(source: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    this.buf.set(source.subarray(start, end), this.pos);
    this.pos += n;
  }

  /** Length-prefixed bytes. */
  bytes(bytes: Uint8Array): void {
    this.varuint(bytes.length);
    this.raw(bytes);
  }

  /** Length-prefixed UTF-8. Lone surrogates are refused: UTF-8 cannot carry them faithfully. */
  string(s: string): void {
    if (typeof s !== 'string') throw invalid(`string: not a string: ${String(s)}`);
    const n = s.length;
    if (n < 0x80) {
      // Short ASCII (the common key): one length byte and the char codes, no encoder call.
      this.ensure(1 + n);
      const buf = this.buf;
      const start = this.pos;
      let pos = start + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[pos++] = c;
      }
      if (i === n) {
        buf[start] = n;
        this.pos = pos;
        return;
      }
    }
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
    writeUuidBytes(id, this.buf, this.pos);
    this.pos += 16;
  }

  /**
   * Everything written, right-sized; the writer may be reused afterwards. A buffer filled exactly
   * is handed over as is, not copied: a later write can only go to a regrown buffer.
   */
  finish(): Uint8Array {
    return this.pos === this.buf.length ? this.buf : this.buf.slice(0, this.pos);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.dataView = null;
  }
}

function checkUint(v: number, max: number, what: string): void {
  if (!(Number.isInteger(v) && v >= 0 && v <= max)) throw invalid(`${what}: out of range: ${String(v)}`);
}

export class ByteReader {
  private readonly buf: Uint8Array;
  /** Created on first use: most reads are bytes, varints and strings. */
  private dataView: DataView | null = null;
  private pos = 0;

  /** `what` names the data in error messages (e.g. "node 1f2e…"). */
  constructor(
    bytes: Uint8Array,
    readonly what = 'data',
  ) {
    this.buf = bytes;
  }

  private get view(): DataView {
    return (this.dataView ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
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
    const s = readUuidString(this.buf, this.pos);
    this.pos += 16;
    return s;
  }

  private asciiOrNull(start: number, n: number): string | null {
    const buf = this.buf;
    const codes: number[] = [];
    let any = 0;
    for (let i = start; i < start + n; i++) {
      const b = buf[i]!;
      any |= b;
      codes.push(b);
    }
    return any >= 0x80 ? null : String.fromCharCode.apply(null, codes);
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
