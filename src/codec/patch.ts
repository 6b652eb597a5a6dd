import { corrupt } from '../errors/sop-error.js';

/**
 * Byte patches (journal mode, spec JNL-1): ops are pairs [offset in the base, length] that copy
 * from the base, or [-1, length] for bytes new in the result, covering the result in order.
 * Registry sectors are diffed here (diffOps); leaves are logged as item changes
 * (node-codec.ts, LeafItemPatch), and replay still applies the byte patches of leaves that
 * records of earlier versions hold.
 */

/** The bytes of a patch that are not copied from its base, in order. */
export function patchLiterals(block: Uint8Array, ops: readonly number[]): Uint8Array {
  let size = 0;
  for (let i = 0; i < ops.length; i += 2) if (ops[i] === -1) size += ops[i + 1]!;
  const out = new Uint8Array(size);
  let at = 0;
  let written = 0;
  for (let i = 0; i < ops.length; i += 2) {
    const length = ops[i + 1]!;
    if (ops[i] === -1) {
      out.set(block.subarray(at, at + length), written);
      written += length;
    }
    at += length;
  }
  return out;
}

/** Equal bytes between two changed runs that are sent as new rather than as a copy op (an op pair costs about that much in the record header). */
const MERGE_GAP = 24;

/**
 * Ops that rebuild `next` from `base` (same length): every run of changed bytes is new, the
 * runs of equal bytes between them are copied (runs shorter than MERGE_GAP are sent as new), and
 * the last `trailer` bytes (a checksum that always changes) are new. A registry sector whose
 * commit changed a few slots anywhere in it is logged as those slots. [] when they share too
 * little to be worth a patch.
 */
export function diffOps(base: Uint8Array, next: Uint8Array, trailer = 0): number[] {
  if (base.length !== next.length || next.length < trailer) return [];
  const body = next.length - trailer;
  const ops: number[] = [];
  let fresh = 0;
  let at = 0;
  while (at < body) {
    let equal = at;
    while (equal < body && base[equal] === next[equal]) equal++;
    // [at, equal) is equal: a copy, unless it is a short gap between two changes (then new).
    if (equal > at && (at === 0 || equal === body || equal - at >= MERGE_GAP)) pushOp(ops, at, equal - at);
    else if (equal > at) {
      pushOp(ops, -1, equal - at);
      fresh += equal - at;
    }
    let changed = equal;
    while (changed < body && base[changed] !== next[changed]) changed++;
    if (changed > equal) {
      pushOp(ops, -1, changed - equal);
      fresh += changed - equal;
    }
    at = changed;
  }
  if (trailer > 0) pushOp(ops, -1, trailer);
  return fresh + trailer > next.length / 2 ? [] : ops;
}

/** Appends an op, extending the last one when it continues it (two new runs, or two adjacent copies). */
function pushOp(ops: number[], from: number, length: number): void {
  const n = ops.length;
  if (n > 0 && ops[n - 2] === -1 && from === -1) ops[n - 1]! += length;
  else if (n > 0 && from !== -1 && ops[n - 2] !== -1 && ops[n - 2]! + ops[n - 1]! === from) ops[n - 1]! += length;
  else ops.push(from, length);
}

/** Rebuilds a block from its base, its ops and its literal bytes; CORRUPT when they do not fit. */
export function applyPatch(base: Uint8Array, ops: readonly number[], literals: Uint8Array, what: string): Uint8Array {
  let size = 0;
  for (let i = 1; i < ops.length; i += 2) size += ops[i]!;
  const out = new Uint8Array(size);
  let at = 0;
  let used = 0;
  for (let i = 0; i < ops.length; i += 2) {
    const from = ops[i]!;
    const length = ops[i + 1]!;
    const src = from === -1 ? literals.subarray(used, used + length) : base.subarray(from, from + length);
    if (src.length !== length || from < -1) throw corrupt(`${what}: patch does not fit its base`);
    out.set(src, at);
    at += length;
    if (from === -1) used += length;
  }
  if (used !== literals.length) throw corrupt(`${what}: patch has ${literals.length - used} unused bytes`);
  return out;
}
