/**
 * Per-key version orders (the longest committed read, which every other read must prefix) and
 * the read anomalies that need no graph: aborted reads (G1a) and intermediate reads (G1b).
 */
import { label, showList } from './list-append-types.js';
import type { FindingSink } from './list-append-types.js';
import type { AppendRef, KeyInfo, ReadRef } from './list-append-history.js';

/** The known version order of a key, or null when its reads are incompatible. */
export interface KeyOrder {
  key: string;
  info: KeyInfo;
  order: number[] | null;
}

const isPrefix = (short: readonly number[], long: readonly number[]): boolean =>
  short.length <= long.length && short.every((v, i) => v === long[i]);

/** The key's version order; reports 'incompatible-order' (once per key) when a read is not a prefix of the longest. */
export function versionOrder(key: string, info: KeyInfo, sink: FindingSink): KeyOrder {
  let longest: ReadRef | undefined;
  for (const r of info.reads) if (longest === undefined || r.value.length > longest.value.length) longest = r;
  if (longest === undefined) return { key, info, order: [] };
  for (const r of info.reads) {
    if (isPrefix(r.value, longest.value)) continue;
    const ops = r.op === longest.op ? [r.op] : [longest.op, r.op];
    sink.add(
      'incompatible-order',
      ops,
      `${label(longest.op)} read ${key}=${showList(longest.value)} but ${label(r.op)} read ${key}=${showList(r.value)}, which is not a prefix of it`,
    );
    return { key, info, order: null };
  }
  return { key, info, order: longest.value };
}

function checkAbortedRead(key: string, r: ReadRef, writers: Map<number, AppendRef>, sink: FindingSink): void {
  for (const v of r.value) {
    const w = writers.get(v);
    if (w?.op.type !== 'fail') continue;
    sink.add('G1a', [w.op, r.op], `${label(r.op)} read ${key}=${showList(r.value)} including ${v}, appended by failed ${label(w.op)}`);
    return;
  }
}

function checkIntermediateRead(key: string, r: ReadRef, writers: Map<number, AppendRef>, sink: FindingSink): void {
  if (r.value.length === 0) return;
  const v = r.value[r.value.length - 1] as number;
  const w = writers.get(v);
  if (w === undefined || w.final || w.op === r.op || w.op.type === 'fail') return;
  sink.add(
    'G1b',
    [w.op, r.op],
    `${label(r.op)} read ${key}=${showList(r.value)} ending in ${v}, an intermediate append of ${label(w.op)} (which appended to ${key} again later)`,
  );
}

/** Reports G1a (a committed read saw a failed op's append) and G1b (it ended in a non-final append). */
export function checkReadAnomalies(key: string, info: KeyInfo, sink: FindingSink): void {
  for (const r of info.reads) {
    checkAbortedRead(key, r, info.writers, sink);
    checkIntermediateRead(key, r, info.writers, sink);
  }
}
