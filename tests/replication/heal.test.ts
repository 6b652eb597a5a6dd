/**
 * Damage on the active drive is repaired from the replica (spec REPL-5): a flipped byte in a
 * node blob or a store info reads back right, the file is rewritten with the replica's bytes;
 * damage on both copies is CORRUPT, never wrong bytes.
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { BlockKind, encodeFrame } from '../../src/codec/frame.js';
import { SopError } from '../../src/errors/sop-error.js';
import { FaultyFileSystem, ioError } from '../../fault-injection/faulty-fs.js';
import { realEnv } from '../../src/adapters/real-env.js';
import { Database } from '../../src/database/database.js';
import { isValidFrame } from '../../src/replication/heal.js';
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

  it('a rewrite that fails fails over to the good copy: the damage is not left behind, worse, on drives called in sync (seed 1431792831)', async () => {
    const pair = drivePair(dirs);
    let db = await openReplicated(pair);
    const { acked } = await writeItems(db, 0, 3);
    await db.close();
    flip(path.join(pair.a, 'sop.db'), 12);
    // The rewrite truncates the rotted copy, then its write fails (the drive is full).
    let full = true;
    const drives = new FaultyFileSystem(realEnv().fs, (call) => (full && call.op === 'write' && call.path === path.join(pair.a, 'sop.db') ? ioError('ENOSPC', call) : null));
    db = await Database.open({ folder: pair.a, env: { ...realEnv(), fs: drives }, replication: { passive: pair.b } });
    const status = db.replicationStatus()!;
    assert.equal(status.active, pair.b, 'the drive holding the good copy is active');
    assert.equal(status.passiveState, 'failed');
    assert.ok(status.events.some((e) => e.kind === 'failover' && e.reason.includes('sop.db')), JSON.stringify(status.events));
    await assertHolds(db, acked);
    full = false; // space freed: the operator reinstates the drive
    await db.reinstate();
    assert.deepEqual(await db.compareReplicas(), [], 'reinstate copied the good sop.db back');
    assert.ok(isValidFrame(fs.readFileSync(path.join(pair.a, 'sop.db'))));
    await db.close();
  });

  it('reinstate heals a blob damaged on the active drive even when the passive copy fails a read once (seed 1812001857)', async () => {
    const pair = drivePair(dirs);
    let passiveDown = false;
    let flaky: string | null = null;
    const drives = new FaultyFileSystem(realEnv().fs, (call) => {
      if (passiveDown && call.path.startsWith(`${pair.b}/`)) return ioError('EIO', call);
      if (flaky !== null && call.op === 'readFile' && call.path === flaky) {
        flaky = null; // one latent read error, then the copy reads fine
        return ioError('EIO', call);
      }
      return null;
    });
    const db = await Database.open({ folder: pair.a, env: { ...realEnv(), fs: drives }, replication: { passive: pair.b } });
    const { acked } = await writeItems(db, 0, 6);
    const blob = blobFiles(pair.a)[0]!;
    passiveDown = true;
    acked.push(...(await writeItems(db, 100, 1)).acked); // the passive drive fails a write and leaves replication
    assert.equal(db.replicationStatus()!.passiveState, 'failed');
    passiveDown = false;
    flip(path.join(pair.a, blob)); // rot at rest on the active drive; the passive copy is the good one
    flaky = path.join(pair.b, blob);
    await db.reinstate();
    assert.equal(flaky, null, 'the passive copy was read');
    assert.ok(isValidFrame(fs.readFileSync(path.join(pair.b, blob))), 'the good copy was not overwritten by the damaged one');
    assert.deepEqual(await db.compareReplicas(), []);
    await assertHolds(db, acked);
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

describe('replication: what counts as a damaged file (REPL-5; seed 1263663812)', () => {
  const record = (text: string): Uint8Array => encodeFrame(BlockKind.TxLog, new TextEncoder().encode(text));
  const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

  it('a step log of several records is valid, so a passive copy that missed the last one is never copied over it', () => {
    const prepare = record('{"type":"prepare"}');
    const done = record('{"type":"done","obsolete":["b8b6ba02"]}');
    assert.ok(isValidFrame(prepare));
    assert.ok(isValidFrame(concat(prepare, done)), 'two whole records: the active copy is the truth');
  });

  it('a torn, flipped or zero-padded file of records is damage', () => {
    const two = concat(record('{"type":"prepare"}'), record('{"type":"done"}'));
    assert.equal(isValidFrame(two.subarray(0, two.length - 3)), false, 'last record torn');
    const flipped = two.slice();
    flipped[flipped.length - 2]! ^= 0x5a;
    assert.equal(isValidFrame(flipped), false, 'a flipped byte in the last record');
    assert.equal(isValidFrame(concat(two, new Uint8Array(16))), false, 'zeros after the records');
    assert.equal(isValidFrame(new Uint8Array(0)), false, 'empty');
  });
});
