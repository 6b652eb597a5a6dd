import { checkAnyFrame } from '../codec/frame.js';

/**
 * Every file sop-ts reads whole (node and value blobs, store infos, the database info) is one
 * CRC-checked frame (src/codec/frame.ts). A whole-file read on the active drive that is not a
 * valid frame, while the passive copy is one, is damage on the active drive that the replica
 * repairs (spec REPL-5): the good bytes are returned and written back over the bad ones.
 */
export function isValidFrame(bytes: Uint8Array): boolean {
  try {
    checkAnyFrame(bytes, 'replica');
    return true;
  } catch {
    return false; // the failure is the answer: not a valid block
  }
}
