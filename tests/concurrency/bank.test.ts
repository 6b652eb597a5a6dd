/**
 * In-process concurrency (spec ACID-4, TX-3..TX-5, TX-7, LOCK-2, API-4): concurrent bank
 * transfers with retries, write-write conflicts on one key, and reader validation.
 *
 * SOP_STRESS=1 runs longer. SOP_BANK_SEED=<n> replays a seed (interleavings still vary).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database, SopError, type Transaction } from '../../src/index.js';

const STRESS = process.env.SOP_STRESS === '1';
const SEED = Number(process.env.SOP_BANK_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ACCOUNTS = 100;
const INITIAL = 1000;
const WORKERS = 8;
const TRANSFERS_PER_WORKER = STRESS ? 400 : 40;

interface Account {
  balance: number;
  /** committed transfers that touched this account */
  ops: number;
}

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const isConflict = (e: unknown): boolean => SopError.is(e, 'CONFLICT');

/** Resolves once `parties` callers arrived. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return () => {
    if (++arrived === parties) open();
    return opened;
  };
}

describe('concurrency (LOCK-1, LOCK-2, TX-7, ACID-4)', function () {
  this.timeout(0);
  let folder: string;
  let db: Database;

  beforeEach(async () => {
    folder = mkdtempSync(join(tmpdir(), 'sop-concurrency-'));
    db = await Database.open({ folder });
  });

  afterEach(async () => {
    await db.close();
    rmSync(folder, { recursive: true, force: true });
  });

  async function setupAccounts(slotLength: number): Promise<void> {
    await db.transaction('write', async (tx) => {
      const accounts = await db.newBtree<number, Account>(tx, 'accounts', { slotLength });
      for (let i = 0; i < ACCOUNTS; i++) await accounts.add(i, { balance: INITIAL, ops: 0 });
    });
  }

  /** `pauseEvery`: yields to the event loop every so many items, so that writers commit mid-scan. */
  async function readAccounts(tx: Transaction, pauseEvery = Infinity): Promise<Account[]> {
    const accounts = await db.openBtree<number, Account>(tx, 'accounts');
    const all: Account[] = [];
    for await (const [k, v] of accounts.range()) {
      assert.equal(k, all.length);
      all.push(v);
      if (all.length % pauseEvery === 0) await new Promise((r) => setTimeout(r, 1));
    }
    return all;
  }

  for (const slotLength of [500, 4]) {
    it(`${WORKERS} concurrent workers conserve the total and lose no update (slotLength ${slotLength}; ACID-4, TX-5, API-4)`, async () => {
      await setupAccounts(slotLength);
      const started = Date.now();
      const ledger = new Array<number>(ACCOUNTS).fill(0);
      const touched = new Array<number>(ACCOUNTS).fill(0);
      let committed = 0;
      let conflictRetries = 0;
      let gaveUp = 0;
      let readerSnapshots = 0;
      let readerConflicts = 0;
      let writersDone = false;

      const worker = async (w: number): Promise<void> => {
        const rnd = prng(SEED + w);
        for (let i = 0; i < TRANSFERS_PER_WORKER; i++) {
          const from = Math.floor(rnd() * ACCOUNTS);
          const to = (from + 1 + Math.floor(rnd() * (ACCOUNTS - 1))) % ACCOUNTS;
          const amount = 1 + Math.floor(rnd() * 50);
          let attempts = 0;
          try {
            await db.transaction(
              'write',
              async (tx) => {
                attempts++;
                const accounts = await db.openBtree<number, Account>(tx, 'accounts');
                for (const [id, delta] of [
                  [from, -amount],
                  [to, amount],
                ] as const) {
                  assert.ok(await accounts.find(id), `account ${id} missing`);
                  const v = (await accounts.getCurrentValue())!;
                  assert.ok(await accounts.updateCurrentValue({ balance: v.balance + delta, ops: v.ops + 1 }));
                }
              },
              { retries: 50 },
            );
          } catch (error) {
            conflictRetries += attempts - 1;
            if (!isConflict(error)) throw error;
            gaveUp++; // not committed: must not show in the balances
            continue;
          }
          conflictRetries += attempts - 1;
          committed++;
          ledger[from]! -= amount;
          ledger[to]! += amount;
          touched[from]!++;
          touched[to]!++;
        }
      };

      // A reader that sums everything: any read transaction that commits saw a consistent total.
      const reader = async (): Promise<void> => {
        while (!writersDone) {
          try {
            const all = await db.transaction('read', (tx) => readAccounts(tx, readerSnapshots % 2 === 0 ? 20 : Infinity), { retries: 0 });
            assert.equal(
              all.reduce((s, a) => s + a.balance, 0),
              ACCOUNTS * INITIAL,
              'a committed read transaction saw an inconsistent total',
            );
            readerSnapshots++;
          } catch (error) {
            if (!isConflict(error)) throw error;
            readerConflicts++;
          }
          await new Promise((r) => setTimeout(r, 2));
        }
      };

      const readerDone = reader();
      try {
        await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
      } finally {
        writersDone = true;
        await readerDone;
      }

      const final = await db.transaction('read', (tx) => readAccounts(tx));
      assert.equal(final.length, ACCOUNTS);
      assert.equal(
        final.reduce((s, a) => s + a.balance, 0),
        ACCOUNTS * INITIAL,
        'total not conserved',
      );
      for (let i = 0; i < ACCOUNTS; i++) {
        assert.equal(final[i]!.balance, INITIAL + ledger[i]!, `account ${i}: balance is not initial + committed deltas (lost or phantom update)`);
        assert.equal(final[i]!.ops, touched[i], `account ${i}: committed transfer count`);
      }
      const check = await db.checkStore('accounts');
      assert.equal(check.count, ACCOUNTS);
      assert.equal(check.orphanBlobs, 0);
      assert.equal(committed + gaveUp, WORKERS * TRANSFERS_PER_WORKER);
      console.log(
        `    seed ${SEED}: ${committed} transfers committed by ${WORKERS} workers in ${Date.now() - started} ms, ` +
          `${conflictRetries} CONFLICT retries, ${gaveUp} gave up after 50; reader: ${readerSnapshots} consistent snapshots, ${readerConflicts} CONFLICTs`,
      );
    });
  }

  describe('two writers of the same key (TX-7, LOCK-2)', () => {
    for (const valueInNode of [true, false]) {
      async function setupKey(): Promise<void> {
        await db.transaction('write', async (tx) => {
          const kv = await db.newBtree<string, { v: number; by: string }>(tx, 'kv', { valueInNode });
          for (const k of ['a', 'k', 'z']) await kv.add(k, { v: 0, by: 'setup' });
        });
      }

      async function readK(): Promise<{ v: number; by: string }> {
        return db.transaction('read', async (tx) => {
          const kv = await db.openBtree<string, { v: number; by: string }>(tx, 'kv');
          assert.ok(await kv.find('k'));
          return (await kv.getCurrentValue())!;
        });
      }

      async function assertClean(): Promise<void> {
        const check = await db.checkStore('kv');
        assert.equal(check.count, 3);
        assert.equal(check.orphanBlobs, 0, 'the loser left blobs behind');
        // no lock left behind: a third writer updates k at once
        await db.transaction(
          'write',
          async (tx) => {
            const kv = await db.openBtree<string, { v: number; by: string }>(tx, 'kv');
            assert.ok(await kv.update('k', { v: 100, by: 'third' }));
          },
          { retries: 0 },
        );
        assert.deepEqual(await readK(), { v: 100, by: 'third' });
      }

      it(`beginTransaction: both read and update k, commit both concurrently: exactly one commits (valueInNode ${valueInNode})`, async () => {
        await setupKey();
        const txs = [await db.beginTransaction('write'), await db.beginTransaction('write')];
        for (const [i, tx] of txs.entries()) {
          const kv = await db.openBtree<string, { v: number; by: string }>(tx, 'kv');
          assert.ok(await kv.find('k'));
          const cur = (await kv.getCurrentValue())!;
          assert.ok(await kv.updateCurrentValue({ v: cur.v + i + 1, by: `t${i}` }));
        }
        const results = await Promise.allSettled(txs.map((tx) => tx.commit()));
        const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        assert.equal(winners.length, 1, `exactly one commits, got ${JSON.stringify(results.map((r) => r.status))}`);
        const loser = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
        assert.ok(isConflict(loser.reason), `the loser fails with CONFLICT, got ${String(loser.reason)}`);
        const w = winners[0]!;
        assert.deepEqual(await readK(), { v: w + 1, by: `t${w}` }, "the loser's write is not visible");
        assert.equal(txs[1 - w]!.state, 'rolledBack');
        await assertClean();
      });

      it(`beginTransaction: sequential commits, the second fails with CONFLICT (valueInNode ${valueInNode})`, async () => {
        await setupKey();
        const t1 = await db.beginTransaction('write');
        const t2 = await db.beginTransaction('write');
        for (const [tx, v] of [
          [t1, 1],
          [t2, 2],
        ] as const) {
          const kv = await db.openBtree<string, { v: number; by: string }>(tx, 'kv');
          assert.ok(await kv.find('k'));
          await kv.getCurrentValue();
          assert.ok(await kv.update('k', { v, by: `t${v}` }));
        }
        await t1.commit();
        await assert.rejects(t2.commit(), isConflict);
        assert.deepEqual(await readK(), { v: 1, by: 't1' });
        await assertClean();
      });

      it(`db.transaction with retries 0: exactly one commits, the other rejects with CONFLICT (valueInNode ${valueInNode})`, async () => {
        await setupKey();
        const bothRead = barrier(2);
        const attempts = [0, 0];
        const run = (i: number): Promise<void> =>
          db.transaction(
            'write',
            async (tx) => {
              attempts[i]!++;
              const kv = await db.openBtree<string, { v: number; by: string }>(tx, 'kv');
              assert.ok(await kv.find('k'));
              const cur = (await kv.getCurrentValue())!;
              await bothRead();
              assert.ok(await kv.update('k', { v: cur.v + 10 * (i + 1), by: `w${i}` }));
            },
            { retries: 0 },
          );
        const results = await Promise.allSettled([run(0), run(1)]);
        assert.deepEqual(attempts, [1, 1], 'retries: 0 means one attempt each');
        const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        assert.equal(winners.length, 1, `exactly one commits, got ${JSON.stringify(results.map((r) => r.status))}`);
        const loser = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
        assert.ok(isConflict(loser.reason), `the loser fails with CONFLICT, got ${String(loser.reason)}`);
        const w = winners[0]!;
        assert.deepEqual(await readK(), { v: 10 * (w + 1), by: `w${w}` });
        await assertClean();
      });

      it(`a remove and an update of the same key: exactly one commits (valueInNode ${valueInNode}; SOP E41)`, async () => {
        await setupKey();
        const t1 = await db.beginTransaction('write');
        const t2 = await db.beginTransaction('write');
        const kv1 = await db.openBtree<string, { v: number; by: string }>(t1, 'kv');
        const kv2 = await db.openBtree<string, { v: number; by: string }>(t2, 'kv');
        assert.ok(await kv1.remove('k'));
        assert.ok(await kv2.update('k', { v: 5, by: 'updater' }));
        const results = await Promise.allSettled([t1.commit(), t2.commit()]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results.map((r) => r.status)));
        for (const r of results) if (r.status === 'rejected') assert.ok(isConflict(r.reason), String(r.reason));
        const present = await db.transaction('read', async (tx) => (await db.openBtree(tx, 'kv')).find('k'));
        if (results[0]!.status === 'fulfilled') assert.equal(present, false, 'remove won: k is gone');
        else assert.deepEqual(await readK(), { v: 5, by: 'updater' }, 'update won: k has its value');
        const check = await db.checkStore('kv');
        assert.equal(check.count, present ? 3 : 2);
        assert.equal(check.orphanBlobs, 0);
      });
    }
  });

  describe('reader validation and write skew (ACID-4, TX-4)', () => {
    for (const slotLength of [500, 4]) {
      async function setup(): Promise<void> {
        await db.transaction('write', async (tx) => {
          const kv = await db.newBtree<number, number>(tx, 'kv', { slotLength });
          for (let i = 0; i < 40; i++) await kv.add(i, 0);
        });
      }

      const update = (key: number, value: number): Promise<void> =>
        db.transaction(
          'write',
          async (tx) => {
            assert.ok(await (await db.openBtree<number, number>(tx, 'kv')).update(key, value));
          },
          { retries: 0 },
        );

      it(`a read transaction whose key was updated by a committed writer fails with CONFLICT; one whose keys were untouched commits (slotLength ${slotLength})`, async () => {
        await setup();
        const stale = await db.beginTransaction('read');
        const fresh = await db.beginTransaction('read');
        const s = await db.openBtree<number, number>(stale, 'kv');
        assert.ok(await s.find(3));
        assert.equal(await s.getCurrentValue(), 0);
        const f = await db.openBtree<number, number>(fresh, 'kv');
        for (const k of [1, 2, 35]) {
          assert.ok(await f.find(k));
          assert.equal(await f.getCurrentValue(), 0);
        }
        await update(3, 7);
        await assert.rejects(stale.commit(), isConflict, 'the reader of key 3 must not commit');
        await fresh.commit(); // keys 1, 2, 35 untouched (key 3 may share their node: merged, not failed)
        assert.equal(fresh.state, 'committed');
      });

      it(`a read transaction that found a key absent fails once it was added (slotLength ${slotLength})`, async () => {
        await setup();
        const r = await db.beginTransaction('read');
        assert.equal(await (await db.openBtree<number, number>(r, 'kv')).find(100), false);
        await db.transaction('write', async (tx) => void (await (await db.openBtree<number, number>(tx, 'kv')).add(100, 1)), { retries: 0 });
        await assert.rejects(r.commit(), isConflict);
      });

      it(`write skew: two writers each read both keys and update a different one: one fails (slotLength ${slotLength})`, async () => {
        await setup();
        // invariant kept by each transaction alone: value(0) + value(39) >= 0
        const bothRead = barrier(2);
        const run = (mine: number, other: number): Promise<void> =>
          db.transaction(
            'write',
            async (tx) => {
              const kv = await db.openBtree<number, number>(tx, 'kv');
              assert.ok(await kv.find(mine));
              const a = (await kv.getCurrentValue())!;
              assert.ok(await kv.find(other));
              const b = (await kv.getCurrentValue())!;
              await bothRead();
              if (a + b - 1 >= -1) assert.ok(await kv.update(mine, a - 1));
            },
            { retries: 0 },
          );
        const results = await Promise.allSettled([run(0, 39), run(39, 0)]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results.map((r) => r.status)));
        for (const r of results) if (r.status === 'rejected') assert.ok(isConflict(r.reason), String(r.reason));
        const [v0, v39] = await db.transaction('read', async (tx) => {
          const kv = await db.openBtree<number, number>(tx, 'kv');
          await kv.find(0);
          const x = (await kv.getCurrentValue())!;
          await kv.find(39);
          return [x, (await kv.getCurrentValue())!];
        });
        assert.equal(v0! + v39!, -1, 'exactly one decrement committed');
      });
    }
  });
});
