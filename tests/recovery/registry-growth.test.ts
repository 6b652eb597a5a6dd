/**
 * A legal workload never makes a folder unopenable (REC-2, REG-2). Found from outside on
 * a887733: a commit needing more than one new registry segment failed after its commit point
 * ('CORRUPT registry ... no free slot') and every later open failed the same way, because
 * recovery's redo took the same path. Both the commit and the redo now add every segment needed.
 *
 * Every database here commits in place (`journal: false`): these tests name the in-place
 * protocol's steps, logs and files (clustered mode's protocol; journal mode, the standalone
 * default, has its own in tests/journal and the I/O-error loop).
 */
import { strict as assert } from 'node:assert';
import { realEnv } from '../../src/adapters/real-env.js';
import { Database } from '../../src/database/database.js';
import { TempDirs } from '../ec/helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());

async function fill(db: Database, n: number): Promise<void> {
  await db.transaction('write', async (tx) => {
    const tree = await db.newBtree<number, number>(tx, 's', { slotLength: 4 });
    for (let i = 0; i < n; i++) await tree.add(i, i * 2);
  });
}

async function expectAll(folder: string, n: number): Promise<void> {
  const db = await Database.open({ journal: false, folder });
  const check = await db.checkStore('s');
  assert.equal(check.count, n);
  await db.transaction('read', async (tx) => {
    const tree = await db.openBtree<number, number>(tx, 's');
    let i = 0;
    for await (const [k, v] of tree.range()) assert.deepEqual([k, v], [i, 2 * i++]);
    assert.equal(i, n);
  });
  await db.close();
}

describe('registry growth in one commit (REC-2, REG-2)', () => {
  it('300 adds in one transaction with registryHashMod 1 and slotLength 4 commit and reopen', async () => {
    const folder = dirs.make('sop-grow-');
    const db = await Database.open({ journal: false, folder, registryHashMod: 1 });
    await fill(db, 300);
    await db.close();
    await expectAll(folder, 300);
  });

  it('the same commit cut right after its commit point is redone at open', async () => {
    const folder = dirs.make('sop-grow-');
    const crash = Object.assign(new Error('crash after the commit point'), { code: 'EIO' });
    const env = { ...realEnv(), point: (name: string) => { if (name === 'commit.afterPlg') throw crash; } };
    const db = await Database.open({ journal: false, folder, registryHashMod: 1, env });
    await assert.rejects(fill(db, 300));
    await db.close();
    await expectAll(folder, 300);
  });
});
