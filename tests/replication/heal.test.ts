/**
 * Damage on the active drive is repaired from the replica (spec REPL-5): a flipped byte in a
 * node blob or a store info reads back right, the file is rewritten with the replica's bytes;
 * damage on both copies is CORRUPT, never wrong bytes.
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { SopError } from '../../src/errors/sop-error.js';
import { STORE, TempDirs, assertHolds, drivePair, openReplicated, writeItems } from './helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());

function blobFiles(root: string): string[] {
  return (fs.readdirSync(root, { recursive: true }) as string[])
    .filter((f) => f.includes(`stores/${STORE}/blobs/`) && fs.statSync(path.join(root, f)).isFile())
    .sort();
}

function flip(file: string, at = -3): void {
  const bytes = fs.readFileSync(file);
  bytes[(bytes.length + at) % bytes.length] ^= 0x5a;
  fs.writeFileSync(file, bytes);
}

describe('replication: damage healed from the replica (REPL-5)', () => {
  it('every node blob flipped on the active drive: all items read back and the files are repaired', async () => {
    const pair = drivePair(dirs);
    let db = await openReplicated(pair);
    const { acked } = await writeItems(db, 0, 8);
    await db.close();
    const files = blobFiles(pair.a);
    assert.ok(files.length > 3, `${files.length} blob files`);
    for (const f of files) flip(path.join(pair.a, f));
    assert.notDeepEqual(fs.readFileSync(path.join(pair.a, files[0]!)), fs.readFileSync(path.join(pair.b, files[0]!)));
    db = await openReplicated(pair);
    await assertHolds(db, acked);
    const healed = db.replicationStatus()!.events.filter((e) => e.kind === 'healed');
    assert.ok(healed.length >= files.length, `${healed.length} healed of ${files.length}`);
    assert.deepEqual(await db.compareReplicas(), [], 'the damaged files were rewritten from the replica');
    await db.close();
  });

  it('a damaged store info is healed at open', async () => {
    const pair = drivePair(dirs);
    let db = await openReplicated(pair);
    const { acked } = await writeItems(db, 0, 3);
    await db.close();
    const info = (fs.readdirSync(pair.a, { recursive: true }) as string[]).find((f) => f.startsWith(`stores/${STORE}/storeinfo`))!;
    flip(path.join(pair.a, info), 20);
    db = await openReplicated(pair);
    await assertHolds(db, acked);
    assert.deepEqual(await db.compareReplicas(), []);
    await db.close();
  });

  it('the same blob damaged on both drives is CORRUPT, not wrong data', async () => {
    const pair = drivePair(dirs);
    let db = await openReplicated(pair);
    await writeItems(db, 0, 8);
    await db.close();
    for (const f of blobFiles(pair.a)) {
      flip(path.join(pair.a, f));
      flip(path.join(pair.b, f), -5);
    }
    db = await openReplicated(pair);
    await assert.rejects(
      db.transaction('read', async (tx) => (await db.openBtree<number, string>(tx, STORE)).find(3)),
      (e: unknown) => e instanceof SopError && e.code === 'CORRUPT',
    );
    await db.close();
  });
});
