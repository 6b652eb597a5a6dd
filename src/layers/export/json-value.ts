/**
 * Keys and values as JSON that round-trips exactly every type the value codec stores
 * (src/codec/value-codec.ts). What JSON holds as it is stays plain (strings, finite numbers,
 * booleans, null, arrays, plain objects); everything else is a tagged object `{"$t": tag, "v": ...}`:
 *   undefined   {"$t":"undefined"}            bigint   {"$t":"bigint","v":"-12"}
 *   NaN, ±Infinity, -0  {"$t":"number","v":"NaN"}  Date  {"$t":"date","v":<ms>}
 *   Uint8Array  {"$t":"bytes","v":<base64>}    object with a null prototype {"$t":"null-proto","v":{...}}
 *   a plain object that has its own "$t" key: {"$t":"object","v":{...}} (so user data never
 *   reads as a tag).
 */

const TAG = '$t';

export function toJson(v: unknown): unknown {
  switch (typeof v) {
    case 'undefined':
      return { [TAG]: 'undefined' };
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0) ? v : { [TAG]: 'number', v: Object.is(v, -0) ? '-0' : String(v) };
    case 'bigint':
      return { [TAG]: 'bigint', v: v.toString() };
    case 'object':
      return v === null ? null : objectToJson(v);
    default:
      return v; // string, boolean (the codec refuses functions and symbols before they are stored)
  }
}

function objectToJson(v: object): unknown {
  if (v instanceof Uint8Array) return { [TAG]: 'bytes', v: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (v instanceof Date) return { [TAG]: 'date', v: v.getTime() };
  if (Array.isArray(v)) return Array.from(v, toJson);
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(v)) define(fields, key, toJson((v as Record<string, unknown>)[key]));
  if (Object.getPrototypeOf(v) === null) return { [TAG]: 'null-proto', v: fields };
  return Object.hasOwn(v, TAG) ? { [TAG]: 'object', v: fields } : fields;
}

/** The value `toJson` encoded; throws a plain Error naming what is malformed (the caller adds the line). */
export function fromJson(j: unknown): unknown {
  if (j === null || typeof j !== 'object') return j;
  if (Array.isArray(j)) return j.map(fromJson);
  const o = j as Record<string, unknown>;
  if (!Object.hasOwn(o, TAG)) return fieldsFrom(o, {});
  return fromTagged(o);
}

function fromTagged(o: Record<string, unknown>): unknown {
  const keys = Object.keys(o).sort().join(',');
  const tag = o[TAG];
  if (tag === 'undefined' && keys === TAG) return undefined;
  if (keys !== `${TAG},v`) throw new Error(`malformed tagged value ${JSON.stringify(o).slice(0, 80)}`);
  const v = o.v;
  switch (tag) {
    case 'number':
      if (v === 'NaN') return NaN;
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      if (v === '-0') return -0;
      break;
    case 'bigint':
      if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
      break;
    case 'date':
      if (typeof v === 'number' && Number.isFinite(v)) return new Date(v);
      break;
    case 'bytes':
      if (typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0) return new Uint8Array(Buffer.from(v, 'base64'));
      break;
    case 'object':
      if (isFields(v)) return fieldsFrom(v, {});
      break;
    case 'null-proto':
      if (isFields(v)) return fieldsFrom(v, Object.create(null) as Record<string, unknown>);
      break;
  }
  throw new Error(`malformed tagged value ${JSON.stringify(o).slice(0, 80)}`);
}

function isFields(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fieldsFrom(fields: Record<string, unknown>, into: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(fields)) define(into, key, fromJson(fields[key]));
  return into;
}

/** An own data property even for "__proto__" (plain assignment would set the prototype). */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
