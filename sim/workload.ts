import { SopError } from '../src/errors/sop-error.js';
import type { Database } from '../src/database/database.js';
import type { Transaction } from '../src/txn/transaction.js';
import type { Micro } from './checkers/list-append.js';
import type { History, Outcome } from './history.js';
import type { SeededSimRandom } from './random.js';

export interface WorkloadConfig {
  readonly listKeys: number;
  readonly accounts: number;
  readonly slotLength: number;
  readonly blobValues: boolean;
}

export const INITIAL_BALANCE = 100;

/** Stores every workload uses, created before faults start. */
export async function setup(db: Database, config: WorkloadConfig): Promise<void> {
  await db.transaction('write', async (tx) => {
    await db.newBtree(tx, 'lists', { slotLength: config.slotLength, valueInNode: true });
    const bank = await db.newBtree<number, number>(tx, 'bank', { slotLength: config.slotLength });
    for (let a = 0; a < config.accounts; a++) await bank.add(a, INITIAL_BALANCE);
    await db.newBtree(tx, 'blobs', { slotLength: config.slotLength, valueInNode: !config.blobValues });
    // Small nodes: removals merge and borrow, puts split (sets.ts).
    await db.newBtree(tx, 'sets', { slotLength: Math.max(3, Math.min(config.slotLength, 6)), valueInNode: !config.blobValues });
  });
}

/** What the thrown error says about whether the transaction committed. */
export function classify(error: unknown, duringCommit: boolean, history: History): Outcome {
  if (!(error instanceof SopError)) {
    history.untyped.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    return 'info';
  }
  if (!duringCommit) return 'fail';
  return error.code === 'CONFLICT' || error.code === 'TIMEOUT' ? 'fail' : 'info';
}

/** Runs `body` in a transaction; returns its outcome. Rolls back on error before commit. */
export async function inTransaction(db: Database, mode: 'write' | 'read' | 'nocheck', body: (tx: Transaction) => Promise<void>, history: History): Promise<Outcome> {
  let tx: Transaction;
  try {
    tx = await db.beginTransaction(mode, { maxTimeMs: 5_000 });
  } catch (error) {
    return classify(error, false, history);
  }
  try {
    await body(tx);
  } catch (error) {
    await tx.rollback().catch(() => undefined);
    return classify(error, false, history);
  }
  try {
    await tx.commit();
    return 'ok';
  } catch (error) {
    return classify(error, true, history);
  }
}

/** Elle list-append transaction: 1-4 appends/reads on a few keys (spec ACID-4). */
export function listAppendTxn(random: SeededSimRandom, config: WorkloadConfig, nextValue: () => number): Micro[] {
  const n = 1 + random.int(4, 'la.len');
  return Array.from({ length: n }, () => {
    const key = `k${random.int(config.listKeys, 'la.key')}`;
    return random.chance(0.5, 'la.f') ? { f: 'append' as const, key, value: nextValue() } : { f: 'r' as const, key, value: null };
  });
}

export async function runListAppend(db: Database, tx: Transaction, txn: Micro[]): Promise<void> {
  const lists = await db.openBtree<string, number[]>(tx, 'lists');
  for (const micro of txn) {
    const found = await lists.find(micro.key);
    const current = found ? ((await lists.getCurrentValue()) ?? []) : null;
    if (micro.f === 'r') {
      (micro as { value: number[] | null }).value = current;
    } else if (found) {
      await lists.updateCurrentValue([...current!, micro.value]);
    } else {
      await lists.add(micro.key, [micro.value]);
    }
  }
}

export async function transfer(db: Database, tx: Transaction, random: SeededSimRandom, config: WorkloadConfig): Promise<void> {
  const bank = await db.openBtree<number, number>(tx, 'bank');
  const from = random.int(config.accounts, 'bank.from');
  const to = (from + 1 + random.int(config.accounts - 1, 'bank.to')) % config.accounts;
  const amount = 1 + random.int(10, 'bank.amount');
  for (const [account, delta] of [[from, -amount], [to, amount]] as const) {
    if (!(await bank.find(account))) throw new Error(`account ${account} is missing`);
    await bank.updateCurrentValue(((await bank.getCurrentValue()) ?? 0) + delta);
  }
}

export async function audit(db: Database, tx: Transaction): Promise<number> {
  const bank = await db.openBtree<number, number>(tx, 'bank');
  let sum = 0;
  for await (const [, balance] of bank.range()) sum += balance;
  return sum;
}

/** The value stored under blob key n: a pure function of n, so every read can be verified. */
export function blobValue(n: number): { n: number; data: string } {
  return { n, data: String.fromCharCode(97 + (n % 26)).repeat((n * 7919) % 9000) };
}

export async function writeBlob(db: Database, tx: Transaction, n: number): Promise<void> {
  const blobs = await db.openBtree<number, { n: number; data: string }>(tx, 'blobs');
  await blobs.upsert(n, blobValue(n));
}

/** Reads a blob key; a wrong value is recorded (a read must never return wrong bytes, FMT-1). */
export async function readBlob(db: Database, tx: Transaction, n: number, history: History): Promise<void> {
  const blobs = await db.openBtree<number, { n: number; data: string }>(tx, 'blobs');
  if (!(await blobs.find(n))) return;
  const value = await blobs.getCurrentValue();
  const expected = blobValue(n);
  if (value?.n !== expected.n || value.data !== expected.data) history.wrongReads.push(`blob ${n}`);
}

/** Creates a scratch store with a few items: store creation is transactional too (STORE-1, STORE-3). */
export async function createScratchStore(db: Database, tx: Transaction, name: string, items: number): Promise<void> {
  const store = await db.newBtree<number, string>(tx, name, { slotLength: 4 });
  for (let i = 0; i < items; i++) await store.add(i, `v${i}`);
}
