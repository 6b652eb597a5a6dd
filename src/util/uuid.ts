import { corrupt, invalid } from '../errors/sop-error.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/** 16 bytes -> canonical lower-case string. */
export function formatUuid(bytes: Uint8Array, offset = 0): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[bytes[offset + i]!];
  }
  return s;
}

/** Canonical string -> 16 bytes written at `offset` of `target`. */
export function writeUuid(uuid: string, target: Uint8Array, offset: number): void {
  if (!isUuid(uuid)) throw invalid(`not a UUID: ${JSON.stringify(uuid)}`);
  let j = offset;
  for (let i = 0; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) continue;
    target[j++] = parseInt(uuid.slice(i, i + 2), 16);
    i++;
  }
}

export function uuidBytes(uuid: string): Uint8Array {
  const out = new Uint8Array(16);
  writeUuid(uuid, out, 0);
  return out;
}

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_RE.test(value);
}

/** Reads a UUID from a decoded record, rejecting non-UUID text as corruption. */
export function expectUuid(value: unknown, what: string): string {
  if (!isUuid(value)) throw corrupt(`${what}: not a UUID`);
  return value;
}
