/**
 * Closing a database while a commit is still writing (REC-2, TX-8). The replication chaos drill
 * of session 4 ended with "store items: count 984 but 987 items": a cold restart closed the
 * database 50 ms after pausing its writers, a commit past its commit point went on writing,
 * the next instance redid its priority log and committed more, and the old commit's store info
 * (its count) then landed over the newer one. close() now waits for commits in flight.
 *
 * Every database here commits in place (`journal: false`): these tests name the in-place
 * protocol's steps, logs and files (clustered mode's protocol; journal mode, the standalone
 * default, has its own in tests/journal and the I/O-error loop).
 */
import { strict as assert } from 'node:assert';
import { realEnv } from '../../src/adapters/real-env.js';
import { Database } from '../../src/database/database.js';
import type { FileSystem } from '../../src/ports/file-system.js';
import { TempDirs } from '../ec/helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());

/** The real file system, where the write of a store info (its temporary file) can be held until released. */
function holdingFs(): { fs: FileSystem; arm: () => Promise<void>; release: () => void } {
  const inner = realEnv().fs;
  let armed = false;
  let reached!: () => void;
  let release!: () => void;
  const gate = { reached: new Promise<void>((r) => (reached = r)), open: new Promise<void>((r) => (release = r)) };
  const fs = Object.create(inner) as FileSystem;
  fs.open = async (path, mode) => {
    if (armed && path.endsWith('/storeinfo.tmp')) {
      armed = false;
      reached();
      await gate.open;
    }
    return inner.open(path, mode);
  };
  return { fs, arm: () => ((armed = true), gate.reached), release: () => release() };
}

async function addKeys(db: Database, keys: number[]): Promise<void> {
  await db.transaction('write', async (tx) => {
    const tree = await db.openBtree<number, number>(tx, 's');
    for (const k of keys) await tree.add(k, k);
  });
}

describe('close while a commit is in flight (REC-2, TX-8)', () => {
  it('a commit past its commit point that is still writing when close is called is not lost or overwritten (old behaviour: count 3 behind)', async () => {
    const folder = dirs.make('sop-close-');
    const held = holdingFs();
    const db = await Database.open({ journal: false, folder, env: { ...realEnv(), fs: held.fs } });
    await db.transaction('write', async (tx) => void (await db.newBtree(tx, 's', { slotLength: 8 })));
    const reached = held.arm();
    const ghost = addKeys(db, [1, 2, 3]).catch(() => undefined);
    await reached;
    const closing = db.close();
    // Whatever close does, the commit is released only after a newer instance committed.
    const race = await Promise.race([closing.then(() => 'closed' as const), new Promise((r) => setTimeout(r, 300, 'waiting'))]);
    if (race === 'closed') {
      const next = await Database.open({ journal: false, folder });
      await addKeys(next, [4, 5, 6]);
      held.release();
      await ghost;
      await next.close();
    } else {
      held.release();
      await closing;
      const next = await Database.open({ journal: false, folder });
      await addKeys(next, [4, 5, 6]);
      await next.close();
    }
    const last = await Database.open({ journal: false, folder });
    const check = await last.checkStore('s');
    assert.equal(check.count, 6, `count ${check.count} with 6 items`);
    await last.close();
  });
});
