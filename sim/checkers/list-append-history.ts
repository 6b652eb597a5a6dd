/**
 * Indexing a list-append history: who appended each (key, value), which committed reads saw
 * each key; and the per-transaction checks that need no version order (duplicate appends,
 * internal consistency).
 */
import { FindingSink, label, showList } from './list-append-types.js';
import type { Op } from './list-append-types.js';

/** The (first) append of a value to a key. */
export interface AppendRef {
  op: Op;
  /** Position of `op` in the history array: its node id in the dependency graph. */
  node: number;
  /** False when the same op appended again to the same key later (an intermediate version). */
  final: boolean;
}

/** A read by a committed (`ok`) transaction. */
export interface ReadRef {
  op: Op;
  node: number;
  value: number[];
}

export interface KeyInfo {
  writers: Map<number, AppendRef>;
  reads: ReadRef[];
}

export interface HistoryIndex {
  keys: Map<string, KeyInfo>;
}

function keyInfo(keys: Map<string, KeyInfo>, key: string): KeyInfo {
  let info = keys.get(key);
  if (info === undefined) {
    info = { writers: new Map(), reads: [] };
    keys.set(key, info);
  }
  return info;
}

/** Position, per key, of each op's last append to it. */
function lastAppends(op: Op): Map<string, number> {
  const last = new Map<string, number>();
  op.txn.forEach((m, i) => {
    if (m.f === 'append') last.set(m.key, i);
  });
  return last;
}

function indexAppend(info: KeyInfo, key: string, value: number, ref: AppendRef, sink: FindingSink): void {
  const prior = info.writers.get(value);
  if (prior === undefined) {
    info.writers.set(value, ref);
    return;
  }
  const what =
    prior.op === ref.op
      ? `${label(ref.op)} appended ${value} to ${key} twice`
      : `${label(prior.op)} and ${label(ref.op)} both appended ${value} to ${key}`;
  sink.add('duplicate-append', prior.op === ref.op ? [ref.op] : [prior.op, ref.op], what);
}

function checkReadDuplicates(op: Op, key: string, value: readonly number[], sink: FindingSink): void {
  const seen = new Set<number>();
  for (const v of value) {
    if (seen.has(v)) {
      sink.add('duplicate-append', [op], `${label(op)} read ${key}=${showList(value)} containing ${v} more than once`);
      return;
    }
    seen.add(v);
  }
}

/**
 * Builds the index and reports duplicate appends (a value appended twice to a key, or a
 * committed read containing a value twice). Only `ok` reads are indexed.
 */
export function indexHistory(history: readonly Op[], sink: FindingSink): HistoryIndex {
  const keys = new Map<string, KeyInfo>();
  history.forEach((op, node) => {
    const last = lastAppends(op);
    op.txn.forEach((m, i) => {
      const info = keyInfo(keys, m.key);
      if (m.f === 'append') {
        indexAppend(info, m.key, m.value, { op, node, final: last.get(m.key) === i }, sink);
      } else if (op.type === 'ok' && Array.isArray(m.value)) {
        info.reads.push({ op, node, value: m.value });
        checkReadDuplicates(op, m.key, m.value, sink);
      }
    });
  });
  return { keys };
}

const sameList = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i]);

const endsWith = (list: readonly number[], suffix: readonly number[]): boolean =>
  list.length >= suffix.length && suffix.every((v, i) => v === list[list.length - suffix.length + i]);

/** What a transaction knows of a key so far: the whole list (after a read), or only its own appends. */
interface KeyState {
  known: number[] | null;
  appended: number[];
}

function checkInternalRead(op: Op, key: string, value: number[], s: KeyState, sink: FindingSink): void {
  if (s.known !== null && !sameList(value, s.known)) {
    sink.add('internal', [op], `${label(op)} read ${key}=${showList(value)} but its prior ops imply ${key}=${showList(s.known)}`);
  } else if (s.known === null && !endsWith(value, s.appended)) {
    sink.add('internal', [op], `${label(op)} read ${key}=${showList(value)} which does not end with its own appends ${showList(s.appended)}`);
  }
  s.known = value.slice();
  s.appended = [];
}

/** Internal consistency of one committed transaction: its reads agree with its own prior reads and appends. */
function checkInternalOp(op: Op, sink: FindingSink): void {
  const states = new Map<string, KeyState>();
  for (const m of op.txn) {
    let s = states.get(m.key);
    if (s === undefined) {
      s = { known: null, appended: [] };
      states.set(m.key, s);
    }
    if (m.f === 'append') {
      if (s.known !== null) s.known.push(m.value);
      else s.appended.push(m.value);
    } else if (Array.isArray(m.value)) {
      checkInternalRead(op, m.key, m.value, s, sink);
    }
  }
}

/** Reports 'internal' anomalies in committed transactions. */
export function checkInternal(history: readonly Op[], sink: FindingSink): void {
  for (const op of history) if (op.type === 'ok') checkInternalOp(op, sink);
}
