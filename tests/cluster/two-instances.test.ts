/**
 * Clustered mode with several Database instances on one folder in one process, sharing one
 * Coordinator (spec CLU-1..CLU-5): what one instance commits, the others see; concurrent
 * transfers across instances conserve the total; counts from concurrent inserts are exact; a
 * Coordinator that loses its state (a Redis restart) does not let a commit be lost.
 * The same engine paths run against real processes and a real redis-server in
 * multi-process.test.ts.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryCoordinator } from '../../src/adapters/memory-coordinator.js';
import { SeededRandom } from '../../src/adapters/seeded-random.js';
import { SystemClock } from '../../src/adapters/system-clock.js';
import { Database, NodeFileSystem, SopError, type Coordinator, type Env } from '../../src/index.js';

/** A shared in-process Coordinator that can "restart": all state gone, a new run id. */
class RestartableCoordinator {
  private inner: MemoryCoordinator;
  restarts = 0;
  constructor(private readonly clock = new SystemClock(), private readonly random = SeededRandom.fromEntropy()) {
    this.inner = new MemoryCoordinator(clock, random);
  }
  restart(): void {
    this.inner = new MemoryCoordinator(this.clock, this.random);
    this.restarts++;
  }
  view(): Coordinator {
    const self = this;
    return {
      kind: 'memory',
      runId: () => self.inner.runId(),
      cacheGet: (k) => self.inner.cacheGet(k),
      cacheSet: (k, v, t) => self.inner.cacheSet(k, v, t),
      cacheDelete: (k) => self.inner.cacheDelete(k),
      lock: (k, o, t) => self.inner.lock(k, o, t),
      unlock: (k, o) => self.inner.unlock(k, o),
      extend: (k, o, t) => self.inner.extend(k, o, t),
      owner: (k) => self.inner.owner(k),
      close: async () => undefined,
    };
  }
}

function envFor(shared: RestartableCoordinator): Env {
  const clock = new SystemClock();
  return { fs: new NodeFileSystem(), clock, random: SeededRandom.fromEntropy(), coordinator: shared.view() };
}

const open = (folder: string, shared: RestartableCoordinator): Promise<Database> =>
  Database.open({ folder, mode: 'clustered', env: envFor(shared), registryHashMod: 8, clusterGraceMs: 0 });

async function balances(db: Database): Promise<Map<number, number>> {
  return db.transaction('read', async (tx) => {
    const b = await db.openBtree<number, number>(tx, 'bank');
    const all = new Map<number, number>();
    for await (const [k, v] of b.range()) all.set(k, v);
    return all;
  });
}

describe('clustered mode, several instances on one folder (CLU-1..CLU-5)', function () {
  this.timeout(120_000);
  let folder: string;
  let shared: RestartableCoordinator;
  let dbs: Database[];

  beforeEach(async () => {
    folder = mkdtempSync(join(tmpdir(), 'sop-cluster-'));
    shared = new RestartableCoordinator();
    dbs = [await open(folder, shared), await open(folder, shared), await open(folder, shared)];
    await dbs[0]!.transaction('write', async (tx) => {
      const b = await dbs[0]!.newBtree<number, number>(tx, 'bank', { slotLength: 4 });
      for (let k = 0; k < 20; k++) await b.add(k, 100);
    });
  });

  afterEach(async () => {
    for (const db of dbs) await db.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('CLU-1: what one instance commits, the others read (new store, new and changed items)', async () => {
    for (const db of dbs) assert.equal([...(await balances(db)).values()].reduce((a, b) => a + b, 0), 2000);
    await dbs[1]!.transaction('write', async (tx) => {
      const b = await dbs[1]!.openBtree<number, number>(tx, 'bank');
      assert.ok(await b.find(3));
      await b.updateCurrentValue(7);
      await b.add(100, 1);
    });
    for (const db of [dbs[0]!, dbs[2]!]) {
      const all = await balances(db);
      assert.equal(all.get(3), 7);
      assert.equal(all.get(100), 1);
      assert.equal(all.size, 21);
    }
  });

  it('CLU-1, CLU-2, CLU-3: concurrent transfers and inserts across instances: total conserved, counts exact', async () => {
    let conflicts = 0;
    let committed = 0;
    const worker = async (db: Database, w: number): Promise<void> => {
      for (let i = 0; i < 25; i++) {
        const from = (w * 7 + i * 3) % 20;
        const to = (from + 1 + (i % 19)) % 20;
        try {
          await db.transaction('write', async (tx) => {
            const b = await db.openBtree<number, number>(tx, 'bank');
            assert.ok(await b.find(from));
            const a = (await b.getCurrentValue())!;
            assert.ok(await b.find(to));
            const c = (await b.getCurrentValue())!;
            await b.find(from);
            await b.updateCurrentValue(a - 1);
            await b.find(to);
            await b.updateCurrentValue(c + 1);
            await b.add(1000 + w * 100 + i, 0); // a count change in every commit (CLU-3)
          }, { retries: 50 });
          committed++;
        } catch (error) {
          if (!SopError.is(error, 'CONFLICT')) throw error;
          conflicts++;
        }
      }
    };
    await Promise.all(dbs.flatMap((db, d) => [worker(db, d * 2), worker(db, d * 2 + 1)]));
    const all = await balances(dbs[2]!);
    const total = [...all.entries()].filter(([k]) => k < 1000).reduce((a, [, v]) => a + v, 0);
    assert.equal(total, 2000, 'sum of balances');
    assert.equal(all.size, 20 + committed, `items: 20 accounts + one per committed transfer (${conflicts} gave up)`);
    for (const db of dbs) assert.equal((await db.checkStore('bank')).count, 20 + committed);
  });

  it('CLU-5: after a Coordinator restart, a commit stuck past its commit point is redone before anyone validates', async () => {
    // Instance "stuck" passes its commit point, then cannot apply (REC-5): it keeps its locks,
    // its priority log stays. The restart drops those locks; another instance that now locks
    // the same node must first redo the stuck commit, or it would overwrite it.
    const env = { ...envFor(shared), point: (name: string) => { if (name === 'commit.afterPlg') throw new Error('injected: cannot apply'); } };
    const stuck = await Database.open({ folder, mode: 'clustered', env, registryHashMod: 8, clusterGraceMs: 0 });
    dbs.push(stuck);
    assert.equal((await balances(dbs[1]!)).get(1), 100); // dbs[1] has read node versions cached
    await assert.rejects(
      stuck.transaction('write', async (tx) => {
        const b = await stuck.openBtree<number, number>(tx, 'bank');
        await b.find(1);
        await b.updateCurrentValue(150);
      }),
      /cannot apply|redone/,
    );
    shared.restart();
    await dbs[1]!.transaction('write', async (tx) => {
      const b = await dbs[1]!.openBtree<number, number>(tx, 'bank');
      assert.ok(await b.find(1));
      await b.updateCurrentValue((await b.getCurrentValue())! + 1);
    });
    for (const db of dbs.slice(0, 3)) assert.equal((await balances(db)).get(1), 151);
  });

  it('CLU-4: recovery in one instance never undoes another instance\'s live transaction', async () => {
    const tx = await dbs[0]!.beginTransaction('write');
    const b = await dbs[0]!.openBtree<number, number>(tx, 'bank');
    await b.add(500, 5);
    const commit = tx.commit();
    await dbs[1]!.sweep();
    await commit;
    assert.equal((await balances(dbs[2]!)).get(500), 5);
    assert.equal((await dbs[2]!.checkStore('bank')).orphanBlobs, 0);
  });

  it('mode: clustered without redis or env is a typed error', async () => {
    await assert.rejects(Database.open({ folder, mode: 'clustered' }), (e: unknown) => SopError.is(e, 'INVALID_ARGUMENT') && /options.redis/.test(e.message));
  });
});
