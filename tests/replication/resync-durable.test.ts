/**
 * The resync at open after a crash leaves the passive drive durable, not only equal (REPL-3):
 * a change the crashed run wrote to both drives and synced on the active one only compares equal
 * in the page cache; without a sync a power loss later took it from the passive drive alone,
 * which then lacked a file the active drive held (found by the simulator, seed 1812001857).
 * Runs on the simulator's SimDisk, whose power loss drops every folder entry not synced.
 */
import { strict as assert } from 'node:assert';
import { MemoryCoordinator } from '../../src/adapters/memory-coordinator.js';
import { SeededRandom } from '../../src/adapters/seeded-random.js';
import { SystemClock } from '../../src/adapters/system-clock.js';
import { Database } from '../../src/database/database.js';
import { ProcessGate } from '../../sim/gate.js';
import { SeededSimRandom } from '../../sim/random.js';
import { SimDisk } from '../../sim/sim-disk.js';

function processOn(disk: SimDisk, seed: number): { gate: ProcessGate; fs: ReturnType<SimDisk['view']>; open: () => Promise<Database> } {
  const gate = new ProcessGate();
  const fs = disk.view(gate, { complete: async () => undefined });
  const clock = new SystemClock();
  const random = new SeededRandom(seed);
  const env = { fs, clock, random, coordinator: new MemoryCoordinator(clock, random) };
  return { gate, fs, open: () => Database.open({ folder: '/db', replication: { passive: '/replica' }, env }) };
}

describe('replication: the resync at open makes the passive drive durable (REPL-3; seed 1812001857)', () => {
  it('a file synced on the active drive only before a crash survives a later power loss on the passive drive', async () => {
    const disk = new SimDisk('d0', new SeededSimRandom(7));
    const first = processOn(disk, 1);
    const db = await first.open();
    await db.transaction('write', async (tx) => void (await (await db.newBtree<number, string>(tx, 'items', { slotLength: 4 })).add(1, 'one')));
    // What a crash between the two drives' folder syncs leaves: the file on both, durable on one.
    const bytes = new TextEncoder().encode('written to both drives');
    for (const root of ['/db', '/replica']) {
      await first.fs.mkdir(`${root}/extra`); // a folder nothing else syncs, durable on both drives
      await first.fs.syncDir(root);
      await first.fs.writeFile(`${root}/extra/stray`, bytes);
    }
    await first.fs.syncDir('/db/extra');
    first.gate.kill(); // the process dies; the page cache (and the open marker) stay

    const second = processOn(disk, 2);
    const reopened = await second.open();
    assert.equal(reopened.replicationStatus()!.passiveState, 'in-sync');
    assert.deepEqual(await reopened.compareReplicas(), []);
    await reopened.close();
    second.gate.kill();

    disk.crash(); // power loss: folder entries never synced are gone
    assert.ok(disk.peekFile('/db/extra/stray'), 'the active drive synced it');
    assert.ok(disk.peekFile('/replica/extra/stray'), 'the passive drive lost a file the active one holds: the resync left it equal in the page cache only');
  });
});
