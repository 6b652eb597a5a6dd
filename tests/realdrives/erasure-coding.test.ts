/**
 * Erasure coding on real drives (loop-mounted ext4, one per shard; faults made by the kernel),
 * through the public API: P drives shut down (EIO on everything) → every value still reads back
 * exactly and commits still reach a write quorum; the dead drives replaced by fresh images →
 * `db.repair()` restores full redundancy, `db.scrubStore` finds nothing, and P other drives may
 * then die.
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Database } from '../../src/index.js';
import { LoopDrives } from './drives.js';
import { skipUnlessRealDrives } from './workload.js';

/** A deterministic value of a few sizes (empty, small, several shards' worth). */
function valueOf(key: number): Uint8Array {
  const size = [0, 7, 900, 5000, 70_000][key % 5]!;
  let x = (key + 1) * 2654435761;
  return Uint8Array.from({ length: size }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24) & 0xff);
}

function shardCount(drive: string): number {
  if (!fs.existsSync(drive)) return 0;
  return (fs.readdirSync(drive, { recursive: true }) as string[]).filter((f) => /\.\d+$/.test(f) && fs.statSync(path.join(drive, f)).isFile()).length;
}

async function add(db: Database, from: number, count: number): Promise<void> {
  await db.transaction('write', async (tx) => {
    const tree = from === 0 ? await db.newBtree<number, Uint8Array>(tx, 'docs', { slotLength: 8, valueInNode: false }) : await db.openBtree<number, Uint8Array>(tx, 'docs');
    for (let k = from; k < from + count; k++) await tree.add(k, valueOf(k));
  });
}

/** Every value reads back exactly, and nothing else is there. */
async function readAll(db: Database, count: number): Promise<void> {
  await db.transaction('read', async (tx) => {
    const tree = await db.openBtree<number, Uint8Array>(tx, 'docs');
    let n = 0;
    for await (const [key, value] of tree.range()) {
      assert.equal(key, n, `key ${n}`);
      assert.ok(Buffer.from(value).equals(Buffer.from(valueOf(key))), `value ${key} (${value.length} bytes) differs`);
      n++;
    }
    assert.equal(n, count);
  });
}

describe('real drives: erasure coding on loop-mounted ext4 (EC-1..EC-3, STORE-5)', function () {
  this.timeout(120_000);
  let drives: LoopDrives | undefined;
  let db: Database | undefined;
  let folder: string | undefined;

  before(function () {
    skipUnlessRealDrives(this);
  });
  after(() => LoopDrives.cleanupAll()); // whatever a failed hook left mounted
  afterEach(async () => {
    await db?.close().catch(() => undefined); // a failed case's database: the drives go next anyway
    db = undefined;
    await drives?.cleanup();
    if (drives) assert.deepEqual(drives.mountsUnder(), [], 'nothing left mounted');
    drives = undefined;
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
    folder = undefined;
  });

  for (const { data, parity, dead, thenDead } of [
    { data: 2, parity: 1, dead: [1], thenDead: [0] },
    { data: 4, parity: 2, dead: [1, 4], thenDead: [0, 3] },
  ]) {
    it(`${data}+${parity}: ${dead.length} drive(s) shut down → every value exact, commits go on; replaced by fresh drives → repair restores full redundancy, scrub clean, ${thenDead.length} other drive(s) may die (EC-1, EC-2, EC-3)`, async () => {
      drives = await LoopDrives.create(data + parity, 32);
      folder = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-realdrives-ec-'));
      const ecDrives = drives.drives.map((d) => drives!.at(d.index, 'ec'));
      const open = (): Promise<Database> => Database.open({ folder: folder!, erasureCoding: { dataShards: data, parityShards: parity, drives: ecDrives } });
      db = await open();
      for (let t = 0; t < 4; t++) await add(db, t * 10, 10);
      await db.sweep(); // journal mode (the default): the checkpoint codes the blobs onto the drives (JNL-3)
      const full = shardCount(ecDrives[0]!);
      assert.ok(full >= 40, `${full} shards per drive`);

      for (const i of dead) await drives.shutdown(i);
      await readAll(db, 40); // degraded reads (EC-1)
      await add(db, 40, 10); // D drives still take a write (EC-2)
      await readAll(db, 50);
      await db.close();
      db = await open(); // the dead drives cannot be locked: skipped, redundancy covers them (STORE-5)
      await readAll(db, 50);

      for (const i of dead) await drives.replace(i);
      const report = await db.repair();
      assert.equal(report.unrecoverable, 0, JSON.stringify(report));
      assert.equal(report.unwritable, 0, JSON.stringify(report));
      assert.ok(report.shardsRewritten > 0, JSON.stringify(report));
      const scrub = await db.scrubStore('docs');
      assert.deepEqual(scrub.issues, [], 'every shard present and valid (EC-3)');
      assert.equal(scrub.unreadable, 0);
      const healthy = shardCount(ecDrives[thenDead[0]!]!);
      for (const i of dead) assert.equal(shardCount(ecDrives[i]!), healthy, `drive ${i} holds a shard of every blob again`);

      for (const i of thenDead) await drives.shutdown(i);
      await readAll(db, 50); // only possible from the rebuilt shards
      await db.close();
      db = undefined;
    });
  }
});
