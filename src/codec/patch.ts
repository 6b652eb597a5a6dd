import { corrupt } from '../errors/sop-error.js';

/**
 * Byte patches (journal mode, spec JNL-1): ops are pairs [offset in the base, length] that copy
 * from the base, or [-1, length] for bytes new in the result, covering the result in order.
 * Registry sectors are diffed here (prefixSuffixOps); leaves are logged as item changes
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

/**
 * Ops that rebuild `next` from `base` (same length): the common prefix and suffix before the
 * last `trailer` bytes are copied, the rest and the trailer (a checksum that always changes) are
 * new: a registry sector whose few changed slots sit together. [] when they share too little.
 */
export function prefixSuffixOps(base: Uint8Array, next: Uint8Array, trailer = 0): number[] {
  if (base.length !== next.length || next.length < trailer) return [];
  const body = next.length - trailer;
  let prefix = 0;
  while (prefix < body && base[prefix] === next[prefix]) prefix++;
  let suffix = 0;
  while (suffix < body - prefix && base[body - 1 - suffix] === next[body - 1 - suffix]) suffix++;
  const middle = body - prefix - suffix;
  if (middle + trailer > next.length / 2) return [];
  const ops = prefix > 0 ? [0, prefix] : [];
  if (middle > 0) ops.push(-1, middle);
  if (suffix > 0) ops.push(body - suffix, suffix);
  if (trailer > 0) ops.push(-1, trailer);
  return ops;
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
