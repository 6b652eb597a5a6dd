/**
 * SQLite-style I/O-error loop (anchors-verification §7): for each commit shape, fail the 1st,
 * 2nd, … Nth file-system call of the commit until it completes untouched. After each failure
 * the folder must hold exactly the state before or after the commit (ACID-1), match what the
 * commit reported (ACID-3, TX-10), stay usable, and pass the structure check (STRUCT-1..3);
 * also after a power loss at that point (COW-3, REC-1, REC-2).
 */
import assert from 'node:assert/strict';
import { MemoryCoordinator } from '../../src/adapters/memory-coordinator.js';
import { SeededRandom } from '../../src/adapters/seeded-random.js';
import { SystemClock } from '../../src/adapters/system-clock.js';
import { Database, SopError, type Transaction } from '../../src/index.js';
import { FaultyFileSystem, ioError } from '../../fault-injection/faulty-fs.js';
import { ProcessGate } from '../../sim/gate.js';
import { SeededSimRandom } from '../../sim/random.js';
import { SimDisk } from '../../sim/sim-disk.js';

type Shape = { name: string; setup: (db: Database, tx: Transaction) => Promise<void>; change: (db: Database, tx: Transaction) => Promise<void> };

const SHAPES: Shape[] = [
  { name: 'first insert', setup: async (db, tx) => void (await db.newBtree(tx, 'a', { slotLength: 4 })), change: async (db, tx) => void (await (await db.openBtree(tx, 'a')).add(1, 'one')) },
  {
    name: 'inserts with splits',
    setup: async (db, tx) => void (await fill(db, tx, 'a', 6)),
    change: async (db, tx) => {
      const a = await db.openBtree<number, string>(tx, 'a');
      for (let i = 100; i < 120; i++) await a.add(i, `v${i}`);
    },
  },
  { name: 'update', setup: async (db, tx) => void (await fill(db, tx, 'a', 10)), change: async (db, tx) => void (await (await db.openBtree(tx, 'a')).update(3, 'changed')) },
  {
    name: 'deletes with merges',
    setup: async (db, tx) => void (await fill(db, tx, 'a', 30)),
    change: async (db, tx) => {
      const a = await db.openBtree<number, string>(tx, 'a');
      for (let i = 0; i < 25; i++) await a.remove(i);
    },
  },
  {
    name: 'two stores',
    setup: async (db, tx) => {
      await fill(db, tx, 'a', 5);
      await fill(db, tx, 'b', 5);
    },
    change: async (db, tx) => {
      await (await db.openBtree(tx, 'a')).update(1, 'a1');
      await (await db.openBtree(tx, 'b')).remove(2);
    },
  },
  {
    name: 'separate value update',
    setup: async (db, tx) => void (await fill(db, tx, 'a', 5, false)),
    change: async (db, tx) => void (await (await db.openBtree(tx, 'a')).update(2, 'x'.repeat(5000))),
  },
  { name: 'store creation', setup: async () => undefined, change: async (db, tx) => void (await fill(db, tx, 'c', 3)) },
];

async function fill(db: Database, tx: Transaction, name: string, n: number, valueInNode = true): Promise<void> {
  const t = await db.newBtree<number, string>(tx, name, { slotLength: 4, valueInNode });
  for (let i = 0; i < n; i++) await t.add(i, `v${i}`);
}

function environment(disk: SimDisk, seed: number, journal: boolean): { fs: FaultyFileSystem; gate: ProcessGate; open: () => Promise<Database> } {
  const gate = new ProcessGate();
  const fs = new FaultyFileSystem(disk.view(gate, { complete: async () => undefined }), () => null);
  const clock = new SystemClock();
  const random = new SeededRandom(seed);
  return { fs, gate, open: () => Database.open({ folder: '/db', registryHashMod: 2, journal, env: { fs, clock, random, coordinator: new MemoryCoordinator(clock, random) } }) };
}

async function snapshot(db: Database): Promise<string> {
  const out: Record<string, unknown> = {};
  await db.transaction('read', async (tx) => {
    for (const { name } of await db.listStores({ parts: true })) {
      const t = await db.openBtree(tx, name);
      const rows: unknown[] = [];
      for await (const row of t.range()) rows.push(row);
      out[name] = { count: t.count, rows };
    }
  });
  return JSON.stringify(out);
}

async function checkAll(db: Database): Promise<void> {
  for (const { name } of await db.listStores({ parts: true })) {
    const check = await db.checkStore(name);
    assert.equal(check.orphanBlobs, 0, `${name}: orphan blobs`);
  }
}

/**
 * Runs one shape with the Nth call of its commit failing; returns whether the fault was hit. In
 * journal mode the window also covers the checkpoint that follows (a sweep): the commit itself is
 * an append and a sync (JNL-1), the checkpoint does the rest (JNL-3).
 */
async function attempt(shape: Shape, n: number, powerLoss: boolean, journal: boolean): Promise<boolean> {
  const disk = new SimDisk('d0', new SeededSimRandom(n));
  let env = environment(disk, n, journal);
  let db = await env.open();
  await db.transaction('write', (tx) => shape.setup(db, tx));
  const before = await snapshot(db);
  const tx = await db.beginTransaction('write');
  await shape.change(db, tx);
  const start = env.fs.callCount;
  env.fs.plan = (call) => (call.n === start + n ? ioError('EIO', call) : null);
  let outcome: 'ok' | 'failed' | 'unknown' = 'ok';
  try {
    await tx.commit();
  } catch (error) {
    assert.ok(error instanceof SopError, `commit threw a non-SopError: ${String(error)}`);
    outcome = error.code === 'IO' || error.code === 'UNAVAILABLE' ? 'unknown' : 'failed';
  }
  if (journal && outcome === 'ok' && !db.failure) {
    // A failed checkpoint keeps the records (JNL-3); a sweep that fails says so with a typed error.
    await db.sweep().catch((error: unknown) => assert.ok(error instanceof SopError, `sweep threw a non-SopError: ${String(error)}`));
  }
  const hit = env.fs.callCount >= start + n;
  env.fs.plan = () => null;
  const afterInProcess = outcome === 'ok' && !db.failure ? await snapshot(db) : null;
  env.gate.kill(); // the process ends (its folder lock with it, STORE-5); a new one opens
  if (powerLoss) disk.crash();
  env = environment(disk, n + 1000, journal);
  db = await env.open();
  const now = await snapshot(db);
  const expectedAfter = afterInProcess ?? (await expectedAfterState(shape, before, n, journal));
  if (outcome === 'ok') assert.equal(now, expectedAfter, `${shape.name} #${n}: acknowledged commit not fully present`);
  else if (outcome === 'failed') assert.equal(now, before, `${shape.name} #${n}: failed commit left traces`);
  else assert.ok(now === before || now === expectedAfter, `${shape.name} #${n}: partial state after an unknown outcome:\n before ${before}\n after  ${expectedAfter}\n now    ${now}`);
  await checkAll(db);
  await db.transaction('write', async (t) => void (await db.newBtree(t, 'probe', { slotLength: 4 }).then((p) => p.upsert(n, 'ok'))));
  return hit;
}

/** The state the shape produces without faults, from the same starting state. */
async function expectedAfterState(shape: Shape, before: string, n: number, journal: boolean): Promise<string> {
  const disk = new SimDisk('d1', new SeededSimRandom(n));
  const env = environment(disk, n, journal);
  const db = await env.open();
  await db.transaction('write', (tx) => shape.setup(db, tx));
  assert.equal(await snapshot(db), before);
  await db.transaction('write', (tx) => shape.change(db, tx));
  return snapshot(db);
}

/** SOP_IOLOOP_QUICK=1 (mutation testing) keeps two shapes, with power loss only. */
const QUICK = process.env.SOP_IOLOOP_QUICK === '1';

describe('I/O-error loop (ACID-1, ACID-3, TX-10, REC-1, COW-3)', function () {
  this.timeout(600_000);
  // Both protocols: in place (`journal: false`, and clustered mode) and journal mode (the standalone default).
  for (const journal of QUICK ? [false] : [false, true]) {
    const protocol = journal ? 'journal mode' : 'in place';
    for (const powerLoss of QUICK ? [true] : [false, true]) {
      for (const shape of QUICK ? SHAPES.filter((s) => s.name === 'update' || s.name === 'two stores') : SHAPES) {
        it(`${protocol}, ${shape.name}${powerLoss ? ' + power loss' : ''}: fail call 1..N until the commit ${journal ? 'and its checkpoint complete' : 'completes'}`, async () => {
          let n = 1;
          while (await attempt(shape, n, powerLoss, journal)) n++;
          assert.ok(n > 5, `the commit made only ${n - 1} file-system calls`);
          process.stdout.write(`      ${protocol}, ${shape.name}${powerLoss ? ' + power loss' : ''}: ${n - 1} failure points checked\n`);
        });
      }
    }
  }
});
