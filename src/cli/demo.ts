import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../database/database.js';
import { SopError } from '../errors/sop-error.js';
import { SystemClock } from '../adapters/system-clock.js';

const clock = new SystemClock();

/**
 * `sop demo`: a short tour of the engine on the standalone default — create a store, move
 * money between accounts from concurrent transactions, crash-free reopen, structure check.
 */
export async function demo(args: { folder?: string; seconds: number; workers: number }): Promise<number> {
  const folder = args.folder ?? mkdtempSync(join(tmpdir(), 'sop-demo-'));
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  log(`sop demo: standalone database in ${folder}`);
  let db = await Database.open({ folder });
  const accounts = 100;
  await db.transaction('write', async (tx) => {
    const bank = await db.newBtree<number, { balance: number }>(tx, 'accounts', { slotLength: 16 });
    for (let i = 0; i < accounts; i++) await bank.upsert(i, { balance: 1000 });
  });
  log(`  created store 'accounts' with ${accounts} accounts of 1000`);
  const stats = { commits: 0, conflicts: 0 };
  const until = clock.monotonic() + args.seconds * 1000;
  const worker = async (w: number): Promise<void> => {
    let seed = w + 1;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    while (clock.monotonic() < until) {
      const from = rand(accounts);
      const to = (from + 1 + rand(accounts - 1)) % accounts;
      const amount = 1 + rand(50);
      try {
        await db.transaction('write', async (tx) => transfer(db, tx, from, to, amount), { retries: 0 });
        stats.commits++;
      } catch (error) {
        if (!SopError.is(error, 'CONFLICT')) throw error;
        stats.conflicts++;
      }
    }
  };
  const started = clock.monotonic();
  await Promise.all(Array.from({ length: args.workers }, (_, w) => worker(w)));
  const seconds = (clock.monotonic() - started) / 1000;
  log(`  ${args.workers} concurrent workers: ${stats.commits} transfers committed, ${stats.conflicts} conflicts, ${(stats.commits / seconds).toFixed(0)} commits/s`);
  await db.close();
  db = await Database.open({ folder });
  const total = await db.transaction('read', async (tx) => {
    let sum = 0;
    const bank = await db.openBtree<number, { balance: number }>(tx, 'accounts');
    for await (const [, account] of bank.range()) sum += account.balance;
    return sum;
  });
  const check = await db.checkStore('accounts');
  log(`  reopened: total balance ${total} (expected ${accounts * 1000}), tree depth ${check.depth}, ${check.nodes} nodes, ${check.orphanBlobs} orphan blobs`);
  await db.close();
  if (!args.folder) rmSync(folder, { recursive: true, force: true });
  const ok = total === accounts * 1000 && check.count === accounts;
  log(ok ? 'sop demo: all invariants held' : 'sop demo: INVARIANT VIOLATED');
  return ok ? 0 : 1;
}

async function transfer(db: Database, tx: Parameters<Database['openBtree']>[0], from: number, to: number, amount: number): Promise<void> {
  const bank = await db.openBtree<number, { balance: number }>(tx, 'accounts');
  if (!(await bank.find(from))) throw new Error(`account ${from} missing`);
  const a = (await bank.getCurrentValue())!;
  await bank.updateCurrentValue({ balance: a.balance - amount });
  if (!(await bank.find(to))) throw new Error(`account ${to} missing`);
  const b = (await bank.getCurrentValue())!;
  await bank.updateCurrentValue({ balance: b.balance + amount });
}
