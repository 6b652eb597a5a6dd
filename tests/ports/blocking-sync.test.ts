/**
 * FileHandle.writeAndSyncBlocking beyond the conformance suite: the fault decorator's
 * pass-through (present exactly when the inner handle has it, one call for the plan, a planned
 * fault fails it before anything reaches the inner file), a dead simulated process's call, and
 * journal mode's `blockingSync` running on the simulated disk through a power loss.
 */
import assert from 'node:assert/strict';
import { FaultyFileSystem, type FsCall, plans } from '../../fault-injection/faulty-fs.js';
import { realEnv } from '../../src/adapters/real-env.js';
import { Database } from '../../src/database/database.js';
import type { FileHandle, FileSystem } from '../../src/ports/file-system.js';
import { ProcessGate } from '../../sim/gate.js';
import { SeededSimRandom } from '../../sim/random.js';
import { SimDisk } from '../../sim/sim-disk.js';

const immediate = { complete: async (): Promise<void> => undefined };

function simFs(): { fs: FileSystem; gate: ProcessGate; disk: SimDisk } {
  const gate = new ProcessGate();
  const disk = new SimDisk('d0', new SeededSimRandom(3));
  return { fs: disk.view(gate, immediate), gate, disk };
}

describe('writeAndSyncBlocking: the fault decorator, a dead simulated process, journal blockingSync on a SimDisk', () => {
  it('counted as one call named writeAndSyncBlocking; a plan failing writes fails it and writes nothing', async () => {
    const { fs: inner } = simFs();
    const faulty = new FaultyFileSystem(inner, plans.none());
    faulty.record = true;
    const f = await faulty.open('/f', 'createNew');
    const before = faulty.callCount;
    f.writeAndSyncBlocking!(0, new Uint8Array([1, 2, 3]));
    assert.equal(faulty.callCount, before + 1);
    assert.deepEqual(faulty.calls.at(-1), { n: before + 1, op: 'writeAndSyncBlocking', path: '/f' } satisfies FsCall);
    faulty.plan = plans.failPaths(/^\/f$/, ['write'], 'ENOSPC');
    assert.throws(() => f.writeAndSyncBlocking!(3, new Uint8Array([4])), (e: unknown) => (e as { code?: string }).code === 'ENOSPC');
    assert.deepEqual(await inner.readFile('/f'), new Uint8Array([1, 2, 3]));
  });

  it('absent when the inner handle lacks it (callers fall back to write + datasync)', async () => {
    const { fs: sim } = simFs();
    const withoutBlocking: FileSystem = {
      ...Object.fromEntries((['lock', 'readFile', 'writeFile', 'rename', 'link', 'unlink', 'mkdir', 'removeTree', 'readdir', 'stat', 'syncDir'] as const).map((k) => [k, sim[k].bind(sim)])),
      open: async (path, mode) => {
        const h = await sim.open(path, mode);
        const plain: FileHandle = {
          read: (p, l) => h.read(p, l),
          write: (p, d) => h.write(p, d),
          datasync: () => h.datasync(),
          sync: () => h.sync(),
          truncate: (s) => h.truncate(s),
          size: () => h.size(),
          close: () => h.close(),
        };
        return plain;
      },
    } as FileSystem;
    const f = await new FaultyFileSystem(withoutBlocking, plans.none()).open('/g', 'createNew');
    assert.equal(f.writeAndSyncBlocking, undefined);
    assert.equal('writeAndSyncBlocking' in f, false, 'no own property either');
    await f.close();
  });

  it("a dead process's blocking call on a SimDisk does nothing and throws (it cannot hang)", async () => {
    const { fs, gate, disk } = simFs();
    const f = await fs.open('/h', 'createNew');
    gate.kill();
    assert.throws(() => f.writeAndSyncBlocking!(0, new Uint8Array([9])), (e: unknown) => (e as { code?: string }).code === 'EIO');
    const next = disk.view(new ProcessGate(), immediate);
    assert.equal((await next.stat('/h'))!.size, 0, 'nothing written');
  });

  it('journal mode with blockingSync commits through it on a SimDisk, and every acknowledged commit survives a power loss (JNL-1, ACID-3)', async () => {
    const disk = new SimDisk('d0', new SeededSimRandom(11));
    let gate = new ProcessGate();
    const faulty = new FaultyFileSystem(disk.view(gate, immediate), plans.none());
    faulty.record = true;
    const env = { ...realEnv(), fs: faulty };
    const db = await Database.open({ folder: '/db', env, journal: { blockingSync: true } });
    for (let t = 0; t < 5; t++) {
      await db.transaction('write', async (tx) => {
        const tree = t === 0 ? await db.newBtree<number, string>(tx, 'items', { slotLength: 4 }) : await db.openBtree<number, string>(tx, 'items');
        for (let i = 0; i < 7; i++) await tree.add(t * 7 + i, `v${t * 7 + i}`);
      });
    }
    const blocking = faulty.calls.filter((c) => c.op === 'writeAndSyncBlocking');
    assert.ok(blocking.length >= 5, `${blocking.length} blocking record writes`);
    assert.ok(blocking.every((c) => /journal(\.2)?\.wal$/.test(c.path)), blocking.map((c) => c.path).join());
    gate.kill(); // power loss with the database open: no close, no checkpoint
    disk.crash();
    gate = new ProcessGate();
    const again = await Database.open({ folder: '/db', env: { ...realEnv(), fs: disk.view(gate, immediate) }, journal: { blockingSync: true } });
    try {
      await again.transaction('read', async (tx) => {
        const tree = await again.openBtree<number, string>(tx, 'items');
        for (let k = 0; k < 35; k++) {
          assert.equal(await tree.find(k), true, `acknowledged key ${k} lost`);
          assert.equal(await tree.getCurrentValue(), `v${k}`);
        }
      });
      assert.equal((await again.checkStore('items')).count, 35);
    } finally {
      await again.close();
    }
  });
});
