/**
 * Lock fencing before the commit point (LOCK-3) and no half operations (API-2).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realEnv } from '../../src/adapters/real-env.js';
import { Database, SopError } from '../../src/index.js';
import { FaultyFileSystem, ioError } from '../../fault-injection/faulty-fs.js';

describe('locks and failed operations (LOCK-3, API-2)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sop-locks-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a lock lost before the commit point aborts the commit with CONFLICT and commits nothing (LOCK-3)', async () => {
    const base = realEnv();
    let loseLocks = false;
    const coordinator = Object.create(base.coordinator) as typeof base.coordinator;
    coordinator.extend = async (key, owner, ttl) => (loseLocks ? false : base.coordinator.extend(key, owner, ttl));
    const db = await Database.open({ folder: dir, env: { ...base, coordinator } });
    await db.transaction('write', async (tx) => void (await db.newBtree<number, string>(tx, 'kv', { slotLength: 4 }).then((t) => t.add(1, 'one'))));
    const tx = await db.beginTransaction('write');
    await (await db.openBtree<number, string>(tx, 'kv')).update(1, 'changed');
    loseLocks = true;
    await assert.rejects(tx.commit(), (err) => SopError.is(err, 'CONFLICT'));
    loseLocks = false;
    const value = await db.transaction('read', async (t) => {
      const kv = await db.openBtree<number, string>(t, 'kv');
      return (await kv.find(1)) ? kv.getCurrentValue() : undefined;
    });
    assert.equal(value, 'one');
    assert.equal((await db.checkStore('kv')).orphanBlobs, 0);
    await db.close();
  });

  it('a write that fails after it may have changed the tree rolls the transaction back (API-2)', async () => {
    const base = realEnv();
    const fs = new FaultyFileSystem(base.fs, () => null);
    // In place: its nodes are files to read back (in journal mode they stay in memory until a checkpoint).
    const db = await Database.open({ folder: dir, env: { ...base, fs }, nodeCacheSize: 1, journal: false });
    await db.transaction('write', async (tx) => {
      const kv = await db.newBtree<number, string>(tx, 'kv', { slotLength: 2 });
      for (let i = 0; i < 40; i++) await kv.add(i, `v${i}`);
    });
    const tx = await db.beginTransaction('write');
    const kv = await db.openBtree<number, string>(tx, 'kv');
    fs.plan = (call) => (call.op === 'readFile' && call.path.includes('/blobs/') ? ioError('EIO', call) : null);
    await assert.rejects(kv.add(1000, 'x'), (err) => SopError.is(err, 'IO'));
    fs.plan = () => null;
    assert.equal(tx.state, 'rolledBack');
    await assert.rejects(kv.add(1001, 'y'), (err) => SopError.is(err, 'TX_CLOSED'));
    await assert.rejects(tx.commit(), (err) => SopError.is(err, 'TX_CLOSED'));
    const count = await db.transaction('read', async (t) => (await db.openBtree(t, 'kv')).count);
    assert.equal(count, 40);
    await db.close();
  });
});
