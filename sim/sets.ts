import type { Database } from '../src/database/database.js';
import type { Transaction } from '../src/txn/transaction.js';
import type { Outcome } from './history.js';
import type { SeededSimRandom } from './random.js';

/**
 * The removal workload (spec BTREE-2, STRUCT-1, TX-8, ACID-1, ACID-3): transactions that put
 * and remove ranges of keys of one small-node store ('sets'), so nodes split, merge and borrow,
 * counts go down as well as up, and the store is emptied now and then. Every op writes its
 * keys unconditionally (put: a value unique to the op; del: absent), so the final state of each
 * key must be the effect of an op that committed and that no acknowledged op follows.
 */
export const SET_KEYS = 40;

export interface SetOp {
  readonly index: number;
  readonly kind: 'put' | 'del';
  readonly keys: readonly number[];
  /** How the op reaches its keys, so every removal path runs: by key, by cursor, by range. */
  readonly method: 'key' | 'cursor' | 'range';
  type: Outcome;
  readonly invokeTime: number;
  completeTime: number;
}

/** The value an op puts: unique to the op, so the final state names its writer. */
export const setValue = (op: SetOp): string => `op${op.index}`;

export function setsTxn(random: SeededSimRandom, index: number, now: number): SetOp {
  const roll = random.float('sets.kind');
  const method = random.pick(['key', 'cursor', 'range'] as const, 'sets.method');
  if (roll < 0.08) return { index, kind: 'del', keys: range(0, SET_KEYS), method: 'range', type: 'info', invokeTime: now, completeTime: now }; // the store emptied
  const from = random.int(SET_KEYS, 'sets.from');
  const length = 1 + random.int(roll < 0.5 ? 12 : 6, 'sets.len');
  return { index, kind: roll < 0.55 ? 'put' : 'del', keys: range(from, Math.min(SET_KEYS, from + length)), method, type: 'info', invokeTime: now, completeTime: now };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

export async function runSets(db: Database, tx: Transaction, op: SetOp): Promise<void> {
  const sets = await db.openBtree<number, string>(tx, 'sets');
  const value = setValue(op);
  if (op.kind === 'put') {
    for (const key of op.keys) {
      if (op.method === 'key') await sets.upsert(key, value);
      else if (await sets.find(key)) await sets.updateCurrentValue(value);
      else await sets.add(key, value);
    }
    return;
  }
  if (op.method === 'key') {
    for (const key of op.keys) await sets.remove(key);
  } else if (op.method === 'cursor') {
    for (const key of op.keys) if (await sets.find(key)) await sets.removeCurrentItem();
  } else {
    // A walk that removes as it goes: after each removal (and the merges it causes) the
    // cursor is placed again by find, which lands on the next greater key.
    const last = op.keys[op.keys.length - 1]!;
    await sets.find(op.keys[0]!);
    for (let key = sets.getCurrentKey(); key !== undefined && key <= last; key = sets.getCurrentKey()) {
      await sets.removeCurrentItem();
      await sets.find(key);
    }
  }
}

/**
 * Judges the final 'sets' store against the history. For each key, its final state (a value,
 * or absent) must come from a committed op (ok or info; absent may also be the initial state),
 * and no acknowledged op on that key may have begun after the writer ended (it would have
 * written over it). An op seen as the writer of one of its keys committed, so it must not have
 * lost another of its keys to an op that ended before it began (atomicity).
 */
export function checkSets(ops: readonly SetOp[], final: ReadonlyMap<number, string>): string[] {
  const problems: string[] = [];
  const byValue = new Map(ops.filter((o) => o.kind === 'put').map((o) => [setValue(o), o]));
  const touching = (key: number): SetOp[] => ops.filter((o) => o.keys.includes(key));
  const before = (a: SetOp, b: SetOp): boolean => ended(a) < b.invokeTime;
  const writerOf = (key: number): SetOp | null | 'unknown' => {
    const value = final.get(key);
    if (value === undefined) return null;
    return byValue.get(value) ?? 'unknown';
  };
  for (let key = 0; key < SET_KEYS; key++) {
    const writer = writerOf(key);
    if (writer === 'unknown') {
      problems.push(`key ${key} holds ${final.get(key)}, which no op wrote`);
      continue;
    }
    if (writer?.type === 'fail') problems.push(`key ${key} holds the value of op${writer.index}, which failed`);
    const later = touching(key).filter((o) => o.type === 'ok' && o !== writer && (writer === null ? !couldBeAbsentAfter(o, key, ops) : before(writer, o)));
    for (const o of later.slice(0, 2)) {
      problems.push(writer === null ? `key ${key} is absent but acknowledged op${o.index} put it and nothing removed it after` : `key ${key} holds op${writer.index}'s value, but acknowledged op${o.index} (${o.kind}) began after op${writer.index} ended`);
    }
  }
  // Atomicity: a writer seen on one key committed; its other keys must not show an older state.
  for (const op of ops.filter((o) => o.kind === 'put')) {
    const seenOn = op.keys.filter((k) => final.get(k) === setValue(op));
    if (seenOn.length === 0 || seenOn.length === op.keys.length) continue;
    for (const key of op.keys.filter((k) => !seenOn.includes(k))) {
      const writer = writerOf(key);
      const older = writer === null ? !touching(key).some((o) => o.kind === 'del' && o.type !== 'fail' && !before(o, op)) : writer !== 'unknown' && before(writer, op);
      if (older) problems.push(`op${op.index} is visible on key ${seenOn[0]} but not on key ${key} (partial commit)`);
    }
  }
  return problems;
}

/** Whether `key` may be absent after acknowledged put `o`: some delete of it that committed or may have did not end before `o` began. */
function couldBeAbsentAfter(o: SetOp, key: number, ops: readonly SetOp[]): boolean {
  if (o.kind === 'del') return true;
  return ops.some((d) => d.kind === 'del' && d.type !== 'fail' && d.keys.includes(key) && !(ended(d) < o.invokeTime));
}

/**
 * When an op's effect was last possible: its completion, or never for an op whose outcome is
 * unknown ('info'), as in Jepsen. Its commit point may be durable and be applied by recovery
 * later, after ops that began once it returned: a priority log whose removal a power loss undid
 * (seed 621776401 --nodes 3, where an acknowledged delete that saw nothing of it came between).
 */
function ended(op: SetOp): number {
  return op.type === 'info' ? Infinity : op.completeTime;
}

/** The final contents of 'sets', read after healing. */
export async function readSets(db: Database): Promise<Map<number, string>> {
  return db.transaction('read', async (tx) => {
    const sets = await db.openBtree<number, string>(tx, 'sets');
    const all = new Map<number, string>();
    for await (const [k, v] of sets.range()) all.set(k, v);
    return all;
  });
}
