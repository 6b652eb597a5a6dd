import { BlockKind, decodeFrame, encodeFrame, isAllZero } from '../codec/frame.js';
import { SopError } from '../errors/sop-error.js';
import { formatUuid, writeUuid } from '../util/uuid.js';
import { SECTOR_SIZE } from './sector.js';

/**
 * Copy-on-write before-images (spec COW-1..COW-4). Before a sector is overwritten, its current
 * bytes are written, framed with the writer's transaction id, into that sector's region of
 * the segment's `.cow` file and made durable. Regions are overwritten by the next writer of
 * the same sector, so a region always holds the before-image of the latest write.
 */
export const COW_REGION_SIZE = 4608; // 9 x 512: a torn cow write can only hurt its own region

export interface CowImage {
  readonly tid: string;
  readonly segment: number;
  readonly sector: number;
  readonly bytes: Uint8Array;
}

export function encodeCow(image: CowImage): Uint8Array {
  const payload = new Uint8Array(24 + SECTOR_SIZE);
  writeUuid(image.tid, payload, 0);
  const view = new DataView(payload.buffer);
  view.setUint32(16, image.segment, true);
  view.setUint32(20, image.sector, true);
  payload.set(image.bytes, 24);
  const region = new Uint8Array(COW_REGION_SIZE);
  region.set(encodeFrame(BlockKind.Cow, payload));
  return region;
}

/**
 * Returns null for an empty region and for a torn or corrupt one: a cow region is made
 * durable before its sector is touched, so a damaged region means the sector write never began.
 */
export function decodeCow(region: Uint8Array, where: string): CowImage | null {
  if (isAllZero(region)) return null;
  try {
    const frameLength = 16 + 24 + SECTOR_SIZE;
    const payload = decodeFrame(region.subarray(0, frameLength), BlockKind.Cow, where);
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    return {
      tid: formatUuid(payload, 0),
      segment: view.getUint32(16, true),
      sector: view.getUint32(20, true),
      bytes: payload.slice(24, 24 + SECTOR_SIZE),
    };
  } catch (error) {
    if (SopError.is(error, 'CORRUPT')) return null;
    throw error;
  }
}
