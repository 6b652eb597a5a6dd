/**
 * Crash child: opens a database folder and runs write transactions forever until it is killed
 * (by the parent's SIGKILL, or by itself at a named point when SOP_CRASH_AT=<point>:<n>).
 * See ./protocol.ts for the lines it prints.
 *
 * Env: SOP_FOLDER (required), SOP_SEED, SOP_LOG_VALUE_IN_NODE ('1' | '0'), SOP_CRASH_AT,
 * SOP_JOURNAL (journal mode with this many records per checkpoint, spec JNL-1..JNL-4).
 */
import { writeSync } from 'node:fs';
import { Database, realEnv } from '../../src/index.js';
import type { Transaction } from '../../src/index.js';
import {
  ACCOUNTS,
  ACCOUNT_COUNT,
  type Account,
  INITIAL_BALANCE,
  LOG,
  type LogValue,
  type Op,
  type Transfer,
  addedValue,
  prng,
  randInt,
  updatedValue,
} from './protocol.js';

const out = (line: string): void => {
  const bytes = Buffer.from(`${line}\n`);
  let written = 0;
  while (written < bytes.length) written += writeSync(1, bytes, written);
};

const folder = process.env.SOP_FOLDER;
if (!folder) throw new Error('SOP_FOLDER is required');
const rnd = prng(Number(process.env.SOP_SEED ?? 1));
const logValueInNode = process.env.SOP_LOG_VALUE_IN_NODE === '1';
const crashAt = process.env.SOP_CRASH_AT ? /^(.+):(\d+)$/.exec(process.env.SOP_CRASH_AT) : null;
const hits = new Map<string, number>();

function point(name: string): void | Promise<void> {
  out(`P ${name}`);
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (crashAt && crashAt[1] === name && Number(crashAt[2]) === n) {
    out(`KILL ${name}:${n}`);
    process.kill(process.pid, 'SIGKILL');
    return new Promise<void>(() => undefined); // never continues
  }
}

async function transfer(db: Database, tx: Transaction, [from, to, amount]: Transfer): Promise<void> {
  const accounts = await db.openBtree<number, Account>(tx, ACCOUNTS);
  for (const [id, delta] of [
    [from, -amount],
    [to, amount],
  ] as const) {
    if (!(await accounts.find(id))) throw new Error(`account ${id} is missing`);
    const { balance } = (await accounts.getCurrentValue())!;
    if (!(await accounts.updateCurrentValue({ balance: balance + delta }))) throw new Error(`update of account ${id} failed`);
  }
}

function randomTransfer(): Transfer {
  const from = randInt(rnd, 0, ACCOUNT_COUNT - 1);
  const to = (from + randInt(rnd, 1, ACCOUNT_COUNT - 1)) % ACCOUNT_COUNT;
  return [from, to, randInt(rnd, 1, 100)];
}

async function main(): Promise<void> {
  out('OPENING');
  // SOP_JOURNAL=<n>[b]: n records per checkpoint; 'b' appends with blocking system calls.
  const spec = process.env.SOP_JOURNAL ? /^(\d+)(b?)$/.exec(process.env.SOP_JOURNAL) : null;
  // Unset: in place (the named commit and cow points are the in-place protocol's).
  const journal = spec ? { journal: { maxRecords: Number(spec[1]), blockingSync: spec[2] === 'b' } } : { journal: false };
  const db = await Database.open({ folder: folder!, env: { ...realEnv(), point }, ...journal });
  out(`OPEN ${JSON.stringify(db.recovery)}`);
  let opSeq = 0;
  const run = async (op: Op, fn: (tx: Transaction) => Promise<void>): Promise<void> => {
    out(`TRY ${JSON.stringify(op)}`);
    await db.transaction('write', fn, { retries: 1000 });
    out(`ACK ${JSON.stringify(op)}`);
  };

  const stores = (await db.listStores()).map((s) => s.name);
  if (!stores.includes(ACCOUNTS) || !stores.includes(LOG)) {
    await run({ w: 'init', op: ++opSeq }, async (tx) => {
      const accounts = await db.newBtree<number, Account>(tx, ACCOUNTS, { slotLength: 4, isUnique: true, valueInNode: true });
      await db.newBtree<number, LogValue>(tx, LOG, { slotLength: 16, isUnique: true, valueInNode: logValueInNode });
      if (accounts.count === 0) for (let i = 0; i < ACCOUNT_COUNT; i++) await accounts.add(i, { balance: INITIAL_BALANCE });
    });
  }

  // The log worker's model of the 'log' store: it is the only writer of that store.
  const present = new Set<number>();
  await db.transaction('read', async (tx) => {
    const log = await db.openBtree<number, LogValue>(tx, LOG);
    for await (const [k] of log.range()) present.add(k);
  });
  let next = Math.max(-1, ...present) + 1;
  out('READY');

  const bank = async (): Promise<never> => {
    for (;;) {
      const xfer = randomTransfer();
      await run({ w: 'bank', op: ++opSeq, xfer }, (tx) => transfer(db, tx, xfer));
    }
  };

  const logger = async (): Promise<never> => {
    for (;;) {
      const add: Array<[number, number]> = [];
      for (let i = randInt(rnd, 1, 20); i > 0; i--) add.push([next++, randInt(rnd, 0, 3000)]);
      const pool = [...present];
      const pick = (): number => pool.splice(randInt(rnd, 0, pool.length - 1), 1)[0]!;
      const del: number[] = [];
      if (pool.length > 0 && rnd() < (present.size > 250 ? 0.9 : 0.4)) {
        for (let i = randInt(rnd, 1, present.size > 250 ? 25 : 5); i > 0 && pool.length > 0; i--) del.push(pick());
      }
      const upd: Array<[number, number]> = [];
      if (pool.length > 0 && rnd() < 0.3) for (let i = randInt(rnd, 1, 3); i > 0 && pool.length > 0; i--) upd.push([pick(), randInt(rnd, 0, 3000)]);
      const xfer = rnd() < 0.25 ? randomTransfer() : undefined;
      const op: Op = { w: 'log', op: ++opSeq, add, del, upd, ...(xfer ? { xfer } : {}) };
      await run(op, async (tx) => {
        const log = await db.openBtree<number, LogValue>(tx, LOG);
        for (const [n, len] of add) if (!(await log.add(n, addedValue(n, len)))) throw new Error(`add ${n} failed`);
        for (const n of del) if (!(await log.remove(n))) throw new Error(`remove ${n} failed`);
        for (const [n, len] of upd) if (!(await log.update(n, updatedValue(n, len)))) throw new Error(`update ${n} failed`);
        if (xfer) await transfer(db, tx, xfer);
      });
      for (const [n] of add) present.add(n);
      for (const n of del) present.delete(n);
    }
  };

  await Promise.all([bank(), logger()]);
}

main().catch((error: unknown) => {
  out(`ERR ${error instanceof Error ? `${error.name}: ${error.message} ${(error as { code?: string }).code ?? ''}\n${error.stack}` : String(error)}`.replace(/\n/g, ' | '));
  process.exit(3);
});
