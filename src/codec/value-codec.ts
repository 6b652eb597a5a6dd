/**
 * Tagged binary encoding of user keys and values. JSON cannot hold bigint, Date, bytes, undefined,
 * NaN or -0, and keys must come back exactly as stored, so sop-ts uses its own format.
 *
 * Tag table (one byte, then the body):
 *   0x00 undefined            0x01 null                0x02 false          0x03 true
 *   0x04 int: zigzag varint (safe integers except -0)  0x05 float64 LE
 *   0x06 string: varuint byte length + UTF-8
 *   0x07 bigint: sign byte (0 = +, 1 = -), varuint length, magnitude little-endian, minimal
 *        (no high zero byte; zero is sign 0 with length 0)
 *   0x08 Date: float64 ms (integer within ±8.64e15)
 *   0x09 Uint8Array: varuint length + bytes
 *   0x0a array: varuint count + elements
 *   0x0b object (Object.prototype): varuint count + (string key, value) pairs
 *   0x0c object (null prototype): same body
 * Containers nest at most MAX_VALUE_DEPTH deep.
 */
import { corrupt, invalid } from '../errors/sop-error.js';
import { ByteReader, ByteWriter, isWellFormedString, varuintSize } from './bytes.js';
import { BlockKind, beginFrame, endFrame } from './frame.js';

export const MAX_VALUE_DEPTH = 100;

export const ValueTag = {
  Undefined: 0x00,
  Null: 0x01,
  False: 0x02,
  True: 0x03,
  Int: 0x04,
  Float: 0x05,
  String: 0x06,
  BigInt: 0x07,
  Date: 0x08,
  Bytes: 0x09,
  Array: 0x0a,
  Object: 0x0b,
  NullProtoObject: 0x0c,
} as const;

const MAX_DATE_MS = 8.64e15;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function encodeValue(v: unknown, what = 'value'): Uint8Array {
  // Bytes get a writer of their exact size (tag, length, body): no regrowth, no slack.
  const w = new ByteWriter(v instanceof Uint8Array ? 1 + varuintSize(v.length) + v.length : 64);
  writeValue(w, v, what);
  return w.finish();
}

/**
 * `v` encoded and framed as a value blob (BlockKind.Value) in one buffer: bytes are copied once,
 * straight to where the blob file gets them (a large value is written as is, not re-framed).
 */
export function encodeValueBlob(v: unknown, what = 'value'): Uint8Array {
  const w = beginFrame(v instanceof Uint8Array ? 1 + varuintSize(v.length) + v.length : 64);
  writeValue(w, v, what);
  return endFrame(w, BlockKind.Value);
}

export function decodeValue(bytes: Uint8Array, what = 'value'): unknown {
  // A well-formed byte string with a 1- or 2-byte length (values in nodes): one copy, no reader.
  // Anything else, malformed input included, takes the general path and its checks.
  if (bytes[0] === ValueTag.Bytes && bytes.length > 1) {
    const b1 = bytes[1]!;
    if (b1 < 0x80) {
      if (bytes.length === 2 + b1) return bytes.slice(2);
    } else if (bytes.length > 2) {
      const b2 = bytes[2]!;
      if (b2 > 0 && b2 < 0x80 && bytes.length === 3 + (b1 & 0x7f) + 128 * b2) return bytes.slice(3);
    }
  }
  const r = new ByteReader(bytes, what);
  const v = readValue(r);
  r.expectEnd();
  return v;
}

/** Appends `v`; throws INVALID_ARGUMENT naming the offending path (rooted at `what`). */
export function writeValue(w: ByteWriter, v: unknown, what = 'value'): void {
  // Top-level scalars (keys, byte values) need no path or cycle tracking: written directly.
  switch (typeof v) {
    case 'string':
      if (!isWellFormedString(v)) break; // ValueWriter names the problem
      w.u8(ValueTag.String);
      return w.string(v);
    case 'number':
      return writeNumber(w, v);
    case 'object':
      if (v instanceof Uint8Array) {
        w.u8(ValueTag.Bytes);
        return w.bytes(v);
      }
      break;
  }
  new ValueWriter(w, what).write(v);
}

function writeNumber(w: ByteWriter, v: number): void {
  if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
    w.u8(ValueTag.Int);
    w.varint(v);
  } else {
    w.u8(ValueTag.Float);
    w.f64(v);
  }
}

export function readValue(r: ByteReader): unknown {
  return read(r, 0);
}

/** Path segments are kept as a stack and only formatted when an error is raised. */
class ValueWriter {
  private readonly path: Array<string | number> = [];
  private readonly ancestors: object[] = [];

  constructor(
    private readonly w: ByteWriter,
    private readonly root: string,
  ) {}

  write(v: unknown): void {
    const w = this.w;
    switch (typeof v) {
      case 'undefined':
        return w.u8(ValueTag.Undefined);
      case 'boolean':
        return w.u8(v ? ValueTag.True : ValueTag.False);
      case 'number':
        return writeNumber(w, v);
      case 'string':
        if (!isWellFormedString(v)) throw this.fail('is a string with a lone UTF-16 surrogate');
        w.u8(ValueTag.String);
        return w.string(v);
      case 'bigint':
        return writeBigInt(w, v);
      case 'object':
        return v === null ? w.u8(ValueTag.Null) : this.writeObject(v);
      default:
        throw this.fail(`is a ${typeof v}, which cannot be stored`);
    }
  }

  private writeObject(v: object): void {
    if (v instanceof Uint8Array) {
      this.w.u8(ValueTag.Bytes);
      return this.w.bytes(v);
    }
    if (v instanceof Date) {
      const t = v.getTime();
      if (Number.isNaN(t)) throw this.fail('is an invalid Date');
      this.w.u8(ValueTag.Date);
      return this.w.f64(t);
    }
    const proto: unknown = Object.getPrototypeOf(v);
    const isArray = Array.isArray(v) && proto === Array.prototype;
    if (!isArray && proto !== Object.prototype && proto !== null) {
      throw this.fail(`is ${describeObject(v)}, which cannot be stored (use plain objects, arrays, Date, Uint8Array)`);
    }
    this.enter(v);
    if (isArray) this.writeArray(v as unknown[]);
    else this.writeRecord(v, proto === null);
    this.ancestors.pop();
  }

  private enter(v: object): void {
    if (this.ancestors.includes(v)) throw this.fail('is a cycle (the object contains itself)');
    if (this.ancestors.length >= MAX_VALUE_DEPTH) throw this.fail(`nests deeper than ${MAX_VALUE_DEPTH} levels`);
    this.ancestors.push(v);
  }

  private writeArray(a: unknown[]): void {
    this.w.u8(ValueTag.Array);
    this.w.varuint(a.length);
    for (let i = 0; i < a.length; i++) this.child(i, a[i]);
  }

  private writeRecord(o: object, nullProto: boolean): void {
    if (Object.getOwnPropertySymbols(o).length > 0) throw this.fail('has symbol-keyed properties');
    const keys = Object.keys(o);
    this.w.u8(nullProto ? ValueTag.NullProtoObject : ValueTag.Object);
    this.w.varuint(keys.length);
    for (const k of keys) {
      if (!isWellFormedString(k)) throw this.fail('has a key with a lone UTF-16 surrogate');
      this.w.string(k);
      this.child(k, (o as Record<string, unknown>)[k]);
    }
  }

  private child(segment: string | number, v: unknown): void {
    this.path.push(segment);
    this.write(v);
    this.path.pop();
  }

  private fail(problem: string) {
    return invalid(`${formatPath(this.root, this.path)} ${problem}`);
  }
}

/** Goes through hex text: linear time, where byte-by-byte bigint shifts are quadratic. */
function writeBigInt(w: ByteWriter, v: bigint): void {
  const negative = v < 0n;
  let hex = (negative ? -v : v).toString(16);
  if (hex === '0') hex = '';
  if (hex.length % 2 === 1) hex = '0' + hex;
  const n = hex.length / 2;
  const magnitude = new Uint8Array(n);
  for (let i = 0; i < n; i++) magnitude[i] = parseInt(hex.slice(hex.length - 2 * i - 2, hex.length - 2 * i), 16);
  w.u8(ValueTag.BigInt);
  w.u8(negative ? 1 : 0);
  w.bytes(magnitude);
}

/** `value.a[3]["x y"]`: the way a user would write the expression. */
export function formatPath(root: string, path: ReadonlyArray<string | number>): string {
  let s = root;
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(p)) s += `.${p}`;
    else s += `[${JSON.stringify(p)}]`;
  }
  return s;
}

/** "a Map instance", "an Error instance", or a note about an odd prototype; for messages. */
export function describeObject(v: object): string {
  const proto: unknown = Object.getPrototypeOf(v);
  const own = typeof proto === 'object' && proto !== null && Object.hasOwn(proto, 'constructor');
  const ctor: unknown = own ? (proto as { constructor: unknown }).constructor : undefined;
  const name = typeof ctor === 'function' ? ctor.name : '';
  if (name === '') return 'an object with a custom prototype';
  return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name} instance`;
}

function read(r: ByteReader, depth: number): unknown {
  const at = r.offset;
  const tag = r.u8();
  switch (tag) {
    case ValueTag.Undefined:
      return undefined;
    case ValueTag.Null:
      return null;
    case ValueTag.False:
      return false;
    case ValueTag.True:
      return true;
    case ValueTag.Int:
      return r.varint();
    case ValueTag.Float:
      return r.f64();
    case ValueTag.String:
      return r.string();
    case ValueTag.BigInt:
      return readBigInt(r);
    case ValueTag.Date:
      return readDate(r);
    case ValueTag.Bytes:
      return r.bytes().slice();
    case ValueTag.Array:
      return readArray(r, enter(r, depth));
    case ValueTag.Object:
    case ValueTag.NullProtoObject:
      return readRecord(r, enter(r, depth), tag === ValueTag.NullProtoObject);
    default:
      throw corrupt(`${r.what}: unknown value tag 0x${tag.toString(16)} at offset ${at}`);
  }
}

function enter(r: ByteReader, depth: number): number {
  if (depth >= MAX_VALUE_DEPTH) throw corrupt(`${r.what}: value nests deeper than ${MAX_VALUE_DEPTH} levels`);
  return depth + 1;
}

/** Every element takes at least one byte, so a count above the bytes left is corruption. */
function readCount(r: ByteReader, minBytesEach: number): number {
  const n = r.varuint();
  if (n * minBytesEach > r.remaining) throw corrupt(`${r.what}: element count ${n} exceeds the data at offset ${r.offset}`);
  return n;
}

function readArray(r: ByteReader, depth: number): unknown[] {
  const n = readCount(r, 1);
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(read(r, depth));
  return out;
}

function readRecord(r: ByteReader, depth: number, nullProto: boolean): object {
  const n = readCount(r, 2);
  const out: Record<string, unknown> = nullProto ? Object.create(null) : {};
  for (let i = 0; i < n; i++) {
    const k = r.string();
    if (Object.hasOwn(out, k)) throw corrupt(`${r.what}: duplicate object key ${JSON.stringify(k)}`);
    const v = read(r, depth);
    // Plain assignment of "__proto__" would change the prototype instead of adding a property.
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
    else out[k] = v;
  }
  return out;
}

function readBigInt(r: ByteReader): bigint {
  const sign = r.u8();
  const mag = r.bytes();
  if (sign > 1) throw corrupt(`${r.what}: bad bigint sign byte ${sign}`);
  if (mag.length > 0 && mag[mag.length - 1] === 0) throw corrupt(`${r.what}: non-minimal bigint`);
  if (mag.length === 0 && sign === 1) throw corrupt(`${r.what}: negative zero bigint`);
  let hex = '0x0';
  for (let i = mag.length - 1; i >= 0; i--) hex += HEX[mag[i]!];
  const v = BigInt(hex);
  return sign ? -v : v;
}

function readDate(r: ByteReader): Date {
  const t = r.f64();
  if (!Number.isInteger(t) || Math.abs(t) > MAX_DATE_MS) throw corrupt(`${r.what}: invalid Date time value ${t}`);
  return new Date(t);
}
