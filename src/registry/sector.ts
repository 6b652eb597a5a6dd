import { crc32 } from '../codec/crc32.js';
import { corrupt } from '../errors/sop-error.js';
import { HANDLE_SIZE, type Handle, readHandle, writeHandle } from './handle.js';

/**
 * A registry sector: 4096 bytes = header (format u16, reserved u16), 65 handle slots of 62
 * bytes, zero padding, CRC-32 of bytes 0..4091 in the last 4 bytes (spec FMT-2). An all-zero
 * sector is valid and empty (sparse, preallocated segments read as zeros).
 */
export const SECTOR_SIZE = 4096;
export const SLOTS_PER_SECTOR = 65;
const SLOTS_OFFSET = 4;
/** The sector's CRC-32 takes its last 4 bytes. */
export const SECTOR_CRC_BYTES = 4;
const CRC_OFFSET = SECTOR_SIZE - SECTOR_CRC_BYTES;
const FORMAT = 1;

export type SectorSlots = Array<Handle | null>;

export function emptySlots(): SectorSlots {
  return new Array<Handle | null>(SLOTS_PER_SECTOR).fill(null);
}

export function decodeSector(bytes: Uint8Array, where: string): SectorSlots {
  if (bytes.length !== SECTOR_SIZE) throw corrupt(`${where}: short sector (${bytes.length} bytes)`);
  if (isAllZero(bytes)) return emptySlots();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(CRC_OFFSET, true) !== crc32(bytes, 0, CRC_OFFSET)) throw corrupt(`${where}: sector checksum mismatch`);
  const format = view.getUint16(0, true);
  if (format !== FORMAT) throw corrupt(`${where}: sector format ${format} is not supported by this sop-ts`);
  const slots = emptySlots();
  for (let i = 0; i < SLOTS_PER_SECTOR; i++) slots[i] = readHandle(bytes, SLOTS_OFFSET + i * HANDLE_SIZE, `${where} slot ${i}`);
  return slots;
}

export function encodeSector(slots: SectorSlots): Uint8Array {
  const bytes = new Uint8Array(SECTOR_SIZE);
  if (slots.every((slot) => slot === null)) return bytes;
  const view = new DataView(bytes.buffer);
  view.setUint16(0, FORMAT, true);
  slots.forEach((slot, i) => slot && writeHandle(slot, bytes, SLOTS_OFFSET + i * HANDLE_SIZE));
  view.setUint32(CRC_OFFSET, crc32(bytes, 0, CRC_OFFSET), true);
  return bytes;
}

function isAllZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Home sector and preferred slot of a logical id: uniform because v4 UUIDs are random. */
export function homeOf(logicalId: string, hashMod: number): { sector: number; slot: number } {
  const high = parseInt(logicalId.slice(0, 8), 16);
  const low = parseInt(logicalId.slice(24, 32), 16);
  return { sector: high % hashMod, slot: low % SLOTS_PER_SECTOR };
}
