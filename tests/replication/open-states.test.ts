/**
 * What opening a replicated folder does with what it finds (REPL-1, REPL-3, REPL-5): the resync
 * after an unclean stop (the `replication.open` marker left behind) makes a diverged passive
 * drive identical again and heals damage from it; the status resolution refuses statuses that
 * contradict each other or that cannot be read, and seeds a passive drive holding leftovers.
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { Database } from '../../src/database/database.js';
import { SopError } from '../../src/errors/sop-error.js';
import { encodeStatus, readStatus } from '../../src/replication/status.js';
import { FaultyFileSystem } from '../../fault-injection/faulty-fs.js';
import { realEnv } from '../../src/adapters/real-env.js';
import { Drives, STORE, TempDirs, assertHolds, drivePair, openReplicated, writeItems } from './helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());

/** A replicated database left as a crash leaves it: the open marker stays (put back after closing the files). */
async function crashed(): Promise<{ pair: { a: string; b: string }; acked: number[] }> {
  const pair = drivePair(dirs);
  const db = await openReplicated(pair);
  const { acked } = await writeItems(db, 0, 6);
  assert.ok(fs.existsSync(path.join(pair.a, 'replication.open')), 'the open marker is written at open');
  await db.close();
  for (const root of [pair.a, pair.b]) fs.writeFileSync(path.join(root, 'replication.open'), '');
  return { pair, acked };
}

function files(root: string, under: string): string[] {
  return (fs.readdirSync(path.join(root, under), { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(root, under, f)).isFile()).sort();
}

describe('replication: open after an unclean stop, and status resolution (REPL-1, REPL-3, REPL-5)', () => {
  it('a clean close removes the open marker; the next open does not resync', async () => {
    const pair = drivePair(dirs);
    let db = await openReplicated(pair);
    await writeItems(db, 0, 2);
    await db.close();
    assert.equal(fs.existsSync(path.join(pair.a, 'replication.open')), false);
    assert.equal(fs.existsSync(path.join(pair.b, 'replication.open')), false);
    fs.writeFileSync(path.join(pair.b, 'translogs', 'stray.log'), 'x'); // not looked for after a clean stop
    db = await openReplicated(pair);
    assert.deepEqual(await db.compareReplicas(), ['translogs/stray.log: only in ' + pair.b]);
    await db.close();
  });

  it('after a crash the passive drive is resynced before recovery: missing, extra and differing files', async () => {
    const { pair, acked } = await crashed();
    const info = files(pair.b, `stores/${STORE}`).find((f) => f.startsWith('storeinfo'))!;
    const blob = files(pair.b, `stores/${STORE}/blobs`)[0]!;
    fs.rmSync(path.join(pair.b, 'stores', STORE, 'blobs', blob)); // a creation that did not reach the passive's disk
    fs.writeFileSync(path.join(pair.b, 'translogs', 'ghost.log'), 'left only on the passive drive');
    fs.appendFileSync(path.join(pair.b, 'stores', STORE, info), 'torn tail');
    const db = await openReplicated(pair);
    assert.deepEqual(await db.compareReplicas(), []);
    const events = db.replicationStatus()!.events;
    assert.ok(events.some((e) => e.kind === 'healed' && /resync at open: 3 paths/.test(e.reason)), JSON.stringify(events));
    await assertHolds(db, acked);
    await db.close();
  });

  it('after a crash a blob damaged on the active drive is restored from the passive one, not copied over it', async () => {
    const { pair, acked } = await crashed();
    const blob = files(pair.a, `stores/${STORE}/blobs`)[0]!;
    const file = path.join(pair.a, 'stores', STORE, 'blobs', blob);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 2] ^= 0x40;
    fs.writeFileSync(file, bytes);
    const db = await openReplicated(pair);
    assert.deepEqual(fs.readFileSync(file), fs.readFileSync(path.join(pair.b, 'stores', STORE, 'blobs', blob)));
    assert.ok(db.replicationStatus()!.events.some((e) => e.kind === 'healed' && e.reason.includes(blob.split('/').pop()!)));
    await assertHolds(db, acked);
    await db.close();
  });

  it('a passive drive replaced by an empty one while it is resynced leaves replication, and reinstate brings it back (REPL-1; seed 1812003863)', async () => {
    const { pair, acked } = await crashed();
    fs.writeFileSync(path.join(pair.b, 'translogs', 'ghost.log'), 'differs'); // something to resync
    let wiped = false;
    // The drive is swapped for an empty one just as the resync starts listing it.
    const drives = new FaultyFileSystem(realEnv().fs, (call) => {
      if (!wiped && call.op === 'readdir' && (call.path === pair.b || call.path === `${pair.b}/`)) {
        wiped = true;
        for (const name of fs.readdirSync(pair.b)) if (name !== 'sop.lock') fs.rmSync(path.join(pair.b, name), { recursive: true, force: true });
      }
      return null;
    });
    const db = await Database.open({ folder: pair.a, env: { ...realEnv(), fs: drives }, replication: { passive: pair.b } });
    assert.ok(wiped, 'the resync listed the passive drive');
    const status = db.replicationStatus()!;
    assert.equal(status.passiveState, 'failed', 'a passive drive without its status is no copy');
    assert.match(status.reason, /lost its replication status/);
    await assertHolds(db, acked);
    await db.reinstate();
    assert.deepEqual(await db.compareReplicas(), []);
    assert.equal((await readStatus(realEnv().fs, pair.b)).status?.epoch, db.replicationStatus()!.epoch);
    await db.close();
  });

  it('after a crash a passive drive that fails the resync leaves replication; the open succeeds', async () => {
    const { pair, acked } = await crashed();
    fs.writeFileSync(path.join(pair.b, 'translogs', 'ghost.log'), 'differs');
    const drives = new Drives();
    drives.failing.set(path.join(pair.b, 'translogs'), 'EIO');
    const db = await openReplicated(pair, drives);
    drives.failing.clear();
    assert.equal(db.replicationStatus()!.passiveState, 'failed');
    await assertHolds(db, acked);
    await db.reinstate();
    assert.deepEqual(await db.compareReplicas(), []);
    await db.close();
  });

  it('statuses of one epoch that disagree are CORRUPT; an unreadable one on the active drive is UNAVAILABLE', async () => {
    const pair = drivePair(dirs);
    const db = await openReplicated(pair);
    await db.close();
    const b = (await readStatus(realEnv().fs, pair.b)).status!;
    fs.writeFileSync(path.join(pair.b, 'replication.status'), encodeStatus({ ...b, active: 1, passive: 'failed' }));
    await assert.rejects(openReplicated(pair), (e: unknown) => e instanceof SopError && e.code === 'CORRUPT' && /disagree/.test(e.message));
    fs.writeFileSync(path.join(pair.b, 'replication.status'), encodeStatus(b));
    const a = path.join(pair.a, 'replication.status');
    const bytes = fs.readFileSync(a);
    bytes[bytes.length - 1] ^= 1;
    fs.writeFileSync(a, bytes);
    // Drive a (active) lost its status to damage; drive b's says a is active: refuse.
    await assert.rejects(openReplicated(pair), (e: unknown) => e instanceof SopError && e.code === 'UNAVAILABLE');
  });

  it('a new database whose passive folder holds leftovers seeds it; a passive holding a database without drive 0 is refused', async () => {
    const pair = drivePair(dirs);
    fs.mkdirSync(path.join(pair.b, 'junk'), { recursive: true });
    fs.writeFileSync(path.join(pair.b, 'junk', 'x'), 'x');
    let db = await openReplicated(pair);
    assert.equal(db.replicationStatus()!.passiveState, 'in-sync');
    assert.deepEqual(await db.compareReplicas(), []);
    await db.close();
    const other = drivePair(dirs);
    const plain = await Database.open({ folder: other.b });
    await plain.close();
    await assert.rejects(openReplicated(other), (e: unknown) => e instanceof SopError && e.code === 'INVALID_ARGUMENT' && /drive 0 must be the original/.test(e.message));
    db = await openReplicated(pair);
    await assert.rejects(db.transaction('write', async () => (db as unknown as { replication: { fs: { rename(a: string, b: string): Promise<void> } } }).replication.fs.rename(path.join(pair.a, 'sop.db'), '/tmp/elsewhere')), (e: unknown) => e instanceof SopError && e.code === 'INVALID_ARGUMENT');
    await db.close();
  });
});
