/**
 * End to end through Database.open({ erasureCoding }): placement, degraded reads, the write
 * quorum, lazy repair by the onIdle sweep and full repair by db.repair() (EC-1, EC-2, EC-3).
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { FaultyFileSystem, plans } from '../../fault-injection/faulty-fs.js';
import { NodeFileSystem } from '../../src/adapters/node-file-system.js';
import { realEnv } from '../../src/adapters/real-env.js';
import { Database, SopError } from '../../src/index.js';
import { TempDirs, makeDrives, prng, randomBytes } from './helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());

function shardCount(drive: string): number {
  if (!fs.existsSync(drive)) return 0;
  return (fs.readdirSync(drive, { recursive: true }) as string[]).filter((f) => /\.\d+$/.test(f) && fs.statSync(path.join(drive, f)).isFile()).length;
}

const VALUES = 40;
function valueOf(i: number): Uint8Array {
  return randomBytes(prng(i + 1), [0, 1, 9, 1000, 70_000][i % 5]!);
}

async function fill(db: Database, name: string): Promise<void> {
  await db.transaction('write', async (tx) => {
    const tree = await db.newBtree<number, Uint8Array>(tx, name, { slotLength: 8, valueInNode: false });
    for (let i = 0; i < VALUES; i++) await tree.add(i, valueOf(i));
  });
}

async function readAll(db: Database, name: string): Promise<void> {
  await db.transaction('read', async (tx) => {
    const tree = await db.openBtree<number, Uint8Array>(tx, name);
    let n = 0;
    for await (const [key, value] of tree.range()) {
      assert.deepEqual(Buffer.from(value), Buffer.from(valueOf(key)), `value ${key}`);
      n++;
    }
    assert.equal(n, VALUES);
  });
}

describe('ec/database: Database.open({ erasureCoding }) (EC-1, EC-2)', () => {
  it('node and value blobs go to the drives, survive a lost drive, and pass checkStore', async () => {
    const folder = dirs.make();
    const drives = makeDrives(dirs, 3);
    const erasureCoding = { dataShards: 2, parityShards: 1, drives };
    let db = await Database.open({ folder, erasureCoding });
    await fill(db, 'docs');
    const check = await db.checkStore('docs');
    assert.equal(check.count, VALUES);
    assert.equal(check.orphanBlobs, 0);
    await db.close(); // in journal mode (the default) the checkpoint at close codes the blobs (JNL-3)
    assert.equal(fs.existsSync(path.join(folder, 'stores', 'docs', 'blobs')), false, 'no local blob files');
    const counts = drives.map(shardCount);
    assert.ok(counts[0]! > VALUES, `shards on drive 0: ${counts[0]}`);
    assert.deepEqual(counts, [counts[0], counts[0], counts[0]]);

    fs.rmSync(drives[1]!, { recursive: true, force: true });
    db = await Database.open({ folder, erasureCoding });
    await readAll(db, 'docs');
    assert.equal((await db.checkStore('docs')).count, VALUES);
    assert.equal(await db.removeBtree('docs'), true);
    for (const drive of [drives[0]!, drives[2]!]) assert.deepEqual(fs.readdirSync(drive), ['sop.lock'], 'nothing but the drive lock (STORE-5)');
    await db.close();
  });

  it('a replaced drive: reads decode around it, the sweep rebuilds it, db.repair() finds nothing left (EC-1, EC-3)', async () => {
    const folder = dirs.make();
    const drives = makeDrives(dirs, 3);
    const erasureCoding = { dataShards: 2, parityShards: 1, drives };
    let db = await Database.open({ folder, erasureCoding });
    await fill(db, 'docs');
    await db.close(); // coded by then in either protocol (journal mode: at the checkpoint, JNL-3)
    const full = shardCount(drives[0]!);
    fs.rmSync(drives[0]!, { recursive: true, force: true });
    fs.mkdirSync(drives[0]!); // a data drive replaced by an empty one
    db = await Database.open({ folder, erasureCoding });
    try {
      await readAll(db, 'docs'); // degraded reads: every value still exact (EC-1)
      await db.sweep(); // the drive lacks the store's folder: the sweep runs a full repair
      const lazily = shardCount(drives[0]!);
      assert.equal(lazily, full, `the sweep rebuilt ${lazily} of ${full} shards`);
      const report = await db.repair();
      assert.equal(report.unrecoverable, 0);
      assert.equal(report.shardsRewritten, full - lazily, 'full repair rebuilt exactly the rest');
      assert.deepEqual(drives.map(shardCount), [full, full, full]);
      fs.rmSync(drives[1]!, { recursive: true, force: true }); // now another drive may go
      await readAll(db, 'docs');
    } finally {
      await db.close();
    }
  });

  it('a replaced drive nothing read: the sweep alone restores full redundancy in the background (EC-3)', async () => {
    const folder = dirs.make();
    const drives = makeDrives(dirs, 3);
    const erasureCoding = { dataShards: 2, parityShards: 1, drives };
    let db = await Database.open({ folder, erasureCoding });
    await fill(db, 'docs');
    await db.close(); // coded by then in either protocol (journal mode: at the checkpoint, JNL-3)
    const full = shardCount(drives[1]!);
    fs.rmSync(drives[1]!, { recursive: true, force: true });
    fs.mkdirSync(drives[1]!); // a drive replaced by an empty one; no read meets its blobs
    db = await Database.open({ folder, erasureCoding });
    try {
      await db.sweep();
      assert.deepEqual(drives.map(shardCount), [full, full, full], 'the sweep rebuilt every shard of the replaced drive');
      const report = await db.repair();
      assert.equal(report.shardsRewritten, 0, 'nothing left for a full repair');
      assert.equal(report.unrecoverable, 0);
      fs.rmSync(drives[0]!, { recursive: true, force: true }); // now another drive may go
      await readAll(db, 'docs');
    } finally {
      await db.close();
    }
  });

  it('a commit whose blobs reach fewer than D drives rolls back and leaves no shards (EC-2)', async () => {
    const folder = dirs.make();
    const drives = makeDrives(dirs, 3);
    const faulty = new FaultyFileSystem(new NodeFileSystem(), plans.none());
    // In place: the commit itself codes its blobs. In journal mode a checkpoint that cannot code
    // onto D drives fails whole instead (tests/journal/journal-ec.test.ts).
    const db = await Database.open({ folder, env: { ...realEnv(), fs: faulty }, erasureCoding: { dataShards: 2, parityShards: 1, drives }, journal: false });
    await fill(db, 'docs');
    const before = drives.map(shardCount);
    const escaped = drives.slice(0, 2).map((d) => d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    faulty.plan = plans.failPaths(new RegExp(`^(${escaped.join('|')})/`), ['write']);
    await assert.rejects(
      db.transaction('write', async (tx) => {
        const tree = await db.openBtree<number, Uint8Array>(tx, 'docs');
        await tree.upsert(3, Uint8Array.of(9, 9, 9));
      }, { retries: 0 }),
      (e: unknown) => SopError.is(e, 'IO'),
    );
    faulty.plan = plans.none();
    assert.deepEqual(drives.map(shardCount), before, 'no shard of the failed commit stayed behind');
    await readAll(db, 'docs');
    await db.close();
  });

  it('a store creation that failed while the drives refused its clean-up is finished by the next sweep (STORE-1, EC-2; seed 1001795900)', async () => {
    const folder = dirs.make();
    const drives = makeDrives(dirs, 3);
    const faulty = new FaultyFileSystem(new NodeFileSystem(), plans.none());
    const db = await Database.open({ folder, env: { ...realEnv(), fs: faulty }, erasureCoding: { dataShards: 2, parityShards: 1, drives } });
    // The creation's rename fails, then so do the deletes of its root blob's shards (a drive outage).
    faulty.plan = (call) => plans.failPaths(/\.creating-/, ['rename'])(call) ?? plans.failPaths(/[\\/]tmp1[\\/]/, ['unlink', 'removeTree'])(call);
    await assert.rejects(
      db.transaction('write', async (tx) => void (await db.newBtree<number, number>(tx, 'tmp1', { slotLength: 8 })), { retries: 0 }),
      (e: unknown) => SopError.is(e, 'IO'),
    );
    faulty.plan = plans.none();
    assert.deepEqual(drives.map(shardCount), [1, 1, 1], 'the failed creation\'s root blob is still on the drives');
    await db.sweep();
    assert.deepEqual(drives.map(shardCount), [0, 0, 0], 'the sweep deleted it');
    assert.deepEqual(fs.readdirSync(path.join(folder, 'stores')), []);
    await db.close();
  });

  it('a malformed erasureCoding option is INVALID_ARGUMENT at open', async () => {
    const folder = dirs.make();
    await assert.rejects(Database.open({ folder, erasureCoding: { dataShards: 2, parityShards: 1, drives: ['/tmp/x'] } }), (e: unknown) => SopError.is(e, 'INVALID_ARGUMENT'));
  });
});
