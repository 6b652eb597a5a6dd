import type { Database } from '../../src/database/database.js';
import { SopError } from '../../src/errors/sop-error.js';
import type { History } from '../history.js';
import { INITIAL_BALANCE, type WorkloadConfig } from '../workload.js';
import { type ErasureView, checkErasureCoding } from './erasure-coding.js';
import { checkListAppend } from './list-append.js';
import { type ReplicationView, checkReplication } from './replication.js';
import { checkSets, readSets } from '../sets.js';

export type { ErasureView } from './erasure-coding.js';
export type { ReplicationView } from './replication.js';

/** What a checker sees: the history, the healed database and the run's figures. */
export interface CheckInput {
  readonly history: History;
  readonly db: Database;
  readonly workload: WorkloadConfig;
  /** The final list contents read in the healing phase. */
  readonly finalLists: ReadonlyMap<string, number[]>;
  /** Erasure-coded runs: the drives' geometry and a file system to scrub them; null otherwise. */
  readonly erasure: ErasureView | null;
  /** Replicated runs: the two drives (the oracle over the simulated disk); null otherwise. */
  readonly replication: ReplicationView | null;
}

export interface Checker {
  readonly name: string;
  /** Spec invariants the checker verifies (spec/SPEC.md). */
  readonly invariants: readonly string[];
  check(input: CheckInput): Promise<string[]>;
}

/** Isolation: Elle's list-append anomalies over the whole history (ACID-4, TX-5, TX-7). */
const isolation: Checker = {
  name: 'list-append',
  invariants: ['ACID-4', 'TX-5', 'TX-7'],
  async check({ history }) {
    const result = checkListAppend(history.lists, { maxFindingsPerAnomaly: 2, realtime: true });
    return result.findings.map((f) => `${f.anomaly}: ${f.explanation}`);
  },
};

/** Every acknowledged append survives; no failed one appears; unknown ones are all or nothing (ACID-1, ACID-3). */
const durability: Checker = {
  name: 'durability',
  invariants: ['ACID-1', 'ACID-3', 'REC-2', 'COW-3'],
  async check({ history, finalLists }) {
    const problems: string[] = [];
    const present = (key: string, value: number): boolean => finalLists.get(key)?.includes(value) ?? false;
    for (const op of history.lists) {
      const appends = op.txn.filter((m) => m.f === 'append');
      const seen = appends.map((m) => present(m.key, m.value as number));
      if (op.type === 'ok' && seen.includes(false)) problems.push(`T${op.index} was acknowledged but lost an append`);
      if (op.type === 'fail' && seen.includes(true)) problems.push(`T${op.index} failed but an append is visible`);
      if (op.type === 'info' && seen.includes(true) && seen.includes(false)) problems.push(`T${op.index} is partially visible`);
    }
    return problems;
  },
};

/** Money is neither created nor destroyed, and every validated audit saw the total (ACID-1, ACID-4, TX-8). */
const bank: Checker = {
  name: 'bank',
  invariants: ['ACID-1', 'ACID-4', 'TX-8', 'TX-4'],
  async check({ history, db, workload }) {
    const total = workload.accounts * INITIAL_BALANCE;
    const problems = history.bank
      .filter((op) => op.kind === 'audit' && op.outcome === 'ok' && op.mode === 'read' && op.sum !== total)
      .map((op) => `a committed audit saw ${op.sum}, not ${total}`);
    const final = await db.transaction('read', async (tx) => {
      const b = await db.openBtree<number, number>(tx, 'bank');
      let sum = 0;
      for await (const [, balance] of b.range()) sum += balance;
      return { sum, count: b.count };
    });
    if (final.sum !== total) problems.push(`final total ${final.sum}, not ${total}`);
    if (final.count !== workload.accounts) problems.push(`final account count ${final.count}, not ${workload.accounts}`);
    return problems;
  },
};

/** Every store is a valid tree with exact counts and no orphans once recovery ran (STRUCT-1..3, BTREE-2). */
const structure: Checker = {
  name: 'structure',
  invariants: ['STRUCT-1', 'STRUCT-2', 'STRUCT-3', 'BTREE-2', 'TX-10'],
  async check({ db }) {
    const problems: string[] = [];
    await db.sweep();
    for (const { name } of await db.listStores({ parts: true })) {
      try {
        const check = await db.checkStore(name);
        if (check.orphanBlobs > 0) problems.push(`${name}: ${check.orphanBlobs} orphan blobs after cleanup (${check.orphanSample.join(', ')})`);
      } catch (error) {
        problems.push(`${name}: ${SopError.is(error) ? error.message : String(error)}`);
      }
    }
    return problems;
  },
};

/** Reads never return wrong bytes and every failure is typed (FMT-1, API-1). */
const integrity: Checker = {
  name: 'integrity',
  invariants: ['FMT-1', 'API-1'],
  async check({ history }) {
    return [...history.wrongReads.map((r) => `wrong bytes read: ${r}`), ...history.untyped.map((e) => `untyped error: ${e}`)];
  },
};

/** Created stores exist whole; failed creations and acknowledged removals leave nothing (STORE-1..3, TX-10). */
const stores: Checker = {
  name: 'stores',
  invariants: ['STORE-1', 'STORE-2', 'STORE-3', 'TX-10'],
  async check({ history, db }) {
    const problems: string[] = [];
    const existing = new Set((await db.listStores()).map((s) => s.name));
    for (const [name, s] of history.stores) {
      const exists = existing.has(name);
      if (s.created === 'ok' && (s.removed === null || s.removed === 'fail') && !exists) problems.push(`${name}: acknowledged creation lost`);
      if ((s.created === 'fail' || s.removed === 'ok') && exists) problems.push(`${name}: exists after a failed creation or an acknowledged removal`);
      if (!exists) continue;
      const count = await db.transaction('read', async (tx) => (await db.openBtree(tx, name)).count);
      if (count !== 0 && count !== s.items) problems.push(`${name}: ${count} items, expected 0 or ${s.items} (partial commit)`);
      if (s.created === 'ok' && (s.removed === null || s.removed === 'fail') && count !== s.items) problems.push(`${name}: ${count} items after an acknowledged commit of ${s.items}`);
    }
    return problems;
  },
};

/**
 * Erasure coding under drive faults: no wrong bytes from degraded reads (EC-1), nothing of a
 * failed write or removed store left on a drive (EC-2), full redundancy after repair (EC-3).
 * See erasure-coding.ts. Runs without erasure coding have nothing to check.
 */
const erasureCoding: Checker = {
  name: 'erasure-coding',
  invariants: ['EC-1', 'EC-2', 'EC-3'],
  async check({ history, db, erasure }) {
    return erasure ? checkErasureCoding(history, db, erasure) : [];
  },
};

/**
 * Active/passive replication under drive faults: the epoch never goes backwards (REPL-1), the
 * final reinstate leaves byte-identical replicas in sync (REPL-3). Acknowledged commits across
 * failovers (REPL-2, REPL-4) and healed rot (REPL-5) are judged by durability, bank, stores and
 * integrity. See replication.ts. Runs without replication have nothing to check.
 */
const replication: Checker = {
  name: 'replication',
  invariants: ['REPL-1', 'REPL-2', 'REPL-3', 'REPL-4', 'REPL-5'],
  async check({ history, db, replication: view }) {
    return view ? checkReplication(history, db, view) : [];
  },
};

/**
 * Removals (sets.ts): the final state of every key of 'sets' comes from a committed op that no
 * acknowledged op follows, and no op is half visible (ACID-1, ACID-3), after merges, borrows and
 * the store emptied (BTREE-2; the structure checker walks it too, STRUCT-1, TX-8).
 */
const removals: Checker = {
  name: 'removals',
  invariants: ['ACID-1', 'ACID-3', 'BTREE-2', 'TX-8'],
  async check({ history, db }) {
    return checkSets(history.sets, await readSets(db));
  },
};

/** The checker registry. */
export const CHECKERS: readonly Checker[] = [isolation, durability, bank, structure, stores, integrity, removals, erasureCoding, replication];
