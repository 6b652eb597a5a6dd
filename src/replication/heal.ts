import { FRAME_HEADER_SIZE, checkAnyFrame } from '../codec/frame.js';

/**
 * Every file sop-ts reads whole is CRC-checked frames (src/codec/frame.ts): one (node and value
 * blobs, store infos, the database info) or several appended (a transaction's step log, one
 * record per step). A whole-file read on the active drive that is not such a file, while the
 * passive copy is one, is damage on the active drive that the replica repairs (spec REPL-5): the
 * good bytes are returned and written back over the bad ones.
 *
 * A file of several frames counts as valid when its frames cover it exactly. Checking only for
 * one frame took every step log of two records or more for damaged: when the passive copy had
 * missed the last record (its write failed there, a power loss resolved the drives apart), its
 * one valid record was copied over the active log, and the lost 'done' record left the
 * commit's obsolete blobs behind for good (found by the simulator, seed 1263663812).
 */
export function isValidFrame(bytes: Uint8Array): boolean {
  if (bytes.length < FRAME_HEADER_SIZE) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < bytes.length; ) {
    if (bytes.length - at < FRAME_HEADER_SIZE) return false;
    const end = at + FRAME_HEADER_SIZE + view.getUint32(at + 8, true);
    if (end > bytes.length || !isOneFrame(bytes.subarray(at, end))) return false;
    at = end;
  }
  return true;
}

function isOneFrame(bytes: Uint8Array): boolean {
  try {
    checkAnyFrame(bytes, 'replica');
    return true;
  } catch {
    return false; // the failure is the answer: not a valid block
  }
}
