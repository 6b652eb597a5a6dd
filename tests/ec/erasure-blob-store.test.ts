import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { FaultyFileSystem, plans } from '../../fault-injection/faulty-fs.js';
import { NodeFileSystem } from '../../src/adapters/node-file-system.js';
import { realEnv } from '../../src/adapters/real-env.js';
import type { ErasureBlobStore } from '../../src/ec/erasure-blob-store.js';
import {
  TempDirs,
  assertAllShardsValid,
  equalBytes,
  expectSopError,
  flipByte,
  makeDrives,
  makeStore,
  sampleBlobs,
} from './helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());

async function readsBackExactly(store: ErasureBlobStore, blobs: { id: string; bytes: Uint8Array }[], what: string): Promise<void> {
  for (const blob of blobs) equalBytes(await store.get(blob.id), blob.bytes, `${what}: blob ${blob.id} (${blob.bytes.length} bytes)`);
}

/** Every shard file under the drives, as paths. */
function shardFiles(drives: string[]): string[] {
  return drives.flatMap((drive) => (fs.existsSync(drive) ? (fs.readdirSync(drive, { recursive: true }) as string[]).map((f) => path.join(drive, f)).filter((f) => fs.statSync(f).isFile()) : []));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function onDrives(drives: string[]): RegExp {
  return new RegExp(`^(${drives.map(escape).join('|')})/`);
}

describe('ec/erasure-blob-store: degraded reads (EC-1)', () => {
  for (const lost of [0, 1, 2]) {
    it(`2+1: every blob reads back byte-exact with drive ${lost} removed entirely`, async () => {
      const { store, drives } = await makeStore(dirs, 2, 1);
      const blobs = sampleBlobs(lost + 1);
      await store.putAll(blobs);
      await readsBackExactly(store, blobs, 'healthy');
      assert.equal(store.pendingRepairs, 0);
      fs.rmSync(drives[lost]!, { recursive: true, force: true });
      await readsBackExactly(store, blobs, `drive ${lost} gone`);
      // Only reads that needed the parity shard remember their blob for lazy repair.
      assert.equal(store.pendingRepairs, lost === 2 ? 0 : blobs.length);
      assert.deepEqual(await store.list(), blobs.map((b) => b.id).sort());
    });
  }

  for (const lost of [[0, 1], [1, 5], [4, 5], [0, 3]]) {
    it(`4+2: every blob reads back byte-exact with drives ${lost.join(' and ')} removed`, async () => {
      const { store, drives } = await makeStore(dirs, 4, 2);
      const blobs = sampleBlobs(10 + lost[0]! * 6 + lost[1]!);
      await store.putAll(blobs);
      for (const d of lost) fs.rmSync(drives[d]!, { recursive: true, force: true });
      await readsBackExactly(store, blobs, `drives ${lost.join(',')} gone`);
    });
  }

  it('with P+1 drives gone every read fails with a typed SopError, never wrong bytes', async () => {
    for (const [d, p] of [[2, 1], [4, 2]] as const) {
      const { store, drives } = await makeStore(dirs, d, p);
      const blobs = sampleBlobs(40 + d, 12);
      await store.putAll(blobs);
      for (let k = 0; k <= p; k++) fs.rmSync(drives[k * 2 % drives.length]!, { recursive: true, force: true });
      for (const blob of blobs) {
        const error = await expectSopError(store.get(blob.id), 'IO');
        assert.match(error.message, new RegExp(`blob ${blob.id} has \\d valid shards of ${d + p}, ${d} needed`));
      }
      await expectSopError(store.list(), 'IO');
    }
  });

  it('with P+1 corrupt shards a read fails CORRUPT (never decodes a bad shard)', async () => {
    const { store, drives } = await makeStore(dirs, 2, 1);
    const [blob] = sampleBlobs(5, 10).slice(9);
    await store.putAll([blob!]);
    flipByte(store.shardPath(0, blob!.id), 40);
    flipByte(store.shardPath(2, blob!.id), -1);
    await expectSopError(store.get(blob!.id), 'CORRUPT');
    assert.equal(shardFiles(drives).length, 3);
  });

  it('a blob that was never written (or was deleted) is null, also with a drive down', async () => {
    const { store, drives } = await makeStore(dirs, 2, 1);
    assert.equal(await store.get('ab000000-0000-4000-8000-000000000000'), null);
    fs.rmSync(drives[0]!, { recursive: true, force: true });
    assert.equal(await store.get('ab000000-0000-4000-8000-000000000000'), null);
  });
});

describe('ec/erasure-blob-store: bit rot and repair (EC-1, EC-3)', () => {
  it('flipped bytes in shard bodies and headers are detected; reads stay exact; repair rewrites them', async () => {
    const { store } = await makeStore(dirs, 4, 2);
    const blobs = sampleBlobs(77, 16, { framed: true });
    await store.putAll(blobs);
    // Two damaged shards per blob: one in the middle of its bytes, one in its header.
    blobs.forEach((blob, i) => {
      const body = store.shardPath(i % 6, blob.id);
      flipByte(body, Math.floor(fs.statSync(body).size / 2));
      flipByte(store.shardPath((i + 3) % 6, blob.id), 20);
    });
    const before = await store.scrub();
    assert.equal(before.blobs, blobs.length);
    assert.equal(before.unreadable, 0);
    assert.equal(before.issues.length, blobs.length * 2);
    for (const issue of before.issues) assert.match(issue.problem, /checksum mismatch/);
    await readsBackExactly(store, blobs, 'two bad shards each');

    let calls = 0;
    const report = await store.repair(() => calls++);
    assert.deepEqual({ ...report, unrecoverableSample: [] }, { blobs: blobs.length, shardsRewritten: blobs.length * 2, unrecoverable: 0, unwritable: 0, unrecoverableSample: [] });
    assert.equal(calls, blobs.length);
    for (const blob of blobs) await assertAllShardsValid(store, blob.id);
    assert.deepEqual((await store.scrub()).issues, []);
    assert.equal(store.pendingRepairs, 0);
    await readsBackExactly(store, blobs, 'after repair');
  });

  it('a replaced (empty) drive is rebuilt by repair(), with progress', async () => {
    const { store, drives } = await makeStore(dirs, 2, 1);
    const blobs = sampleBlobs(9);
    await store.putAll(blobs);
    fs.rmSync(drives[1]!, { recursive: true, force: true });
    fs.mkdirSync(drives[1]!);
    await readsBackExactly(store, blobs, 'degraded');
    const progress: [number, number][] = [];
    const report = await store.repair((done, total) => progress.push([done, total]));
    assert.equal(report.shardsRewritten, blobs.length);
    assert.equal(report.unrecoverable, 0);
    assert.equal(progress.length, blobs.length);
    assert.deepEqual(progress.at(-1), [blobs.length, blobs.length]);
    for (const blob of blobs) {
      assert.ok(fs.existsSync(store.shardPath(1, blob.id)), `shard 1 of ${blob.id} on the new drive`);
      await assertAllShardsValid(store, blob.id);
    }
    // The new drive alone may now lose its partner: drive 0 gone, drives 1 and 2 suffice.
    fs.rmSync(drives[0]!, { recursive: true, force: true });
    await readsBackExactly(store, blobs, 'rebuilt drive in use');
  });

  it('lazy repair: a degraded read records the blob; repairPending() rewrites only those', async () => {
    const { store } = await makeStore(dirs, 2, 1);
    const blobs = sampleBlobs(11, 6);
    await store.putAll(blobs);
    fs.rmSync(store.shardPath(0, blobs[2]!.id));
    fs.rmSync(store.shardPath(0, blobs[4]!.id));
    await readsBackExactly(store, blobs, 'two shards missing');
    assert.equal(store.pendingRepairs, 2);
    const report = await store.repairPending();
    assert.equal(report.blobs, 2);
    assert.equal(report.shardsRewritten, 2);
    assert.equal(store.pendingRepairs, 0);
    for (const blob of blobs) await assertAllShardsValid(store, blob.id);
  });

  it('a blob with fewer than D valid shards is reported unrecoverable, not guessed', async () => {
    const { store } = await makeStore(dirs, 2, 1);
    const blobs = sampleBlobs(12, 3, { framed: true });
    await store.putAll(blobs);
    fs.rmSync(store.shardPath(0, blobs[1]!.id));
    flipByte(store.shardPath(1, blobs[1]!.id), 30);
    const report = await store.repair();
    assert.equal(report.unrecoverable, 1);
    assert.deepEqual(report.unrecoverableSample, [blobs[1]!.id]);
    assert.equal(fs.existsSync(store.shardPath(0, blobs[1]!.id)), false, 'nothing was invented');
    const scrub = await store.scrub();
    assert.equal(scrub.unreadable, 1);
    assert.ok(scrub.issues.some((i) => i.id === blobs[1]!.id && /unrecoverable/.test(i.problem)));
  });

  it('repair never resurrects a blob deleted concurrently', async () => {
    const { store, drives } = await makeStore(dirs, 2, 1);
    const blobs = sampleBlobs(13, 8);
    await store.putAll(blobs);
    for (const blob of blobs) fs.rmSync(store.shardPath(0, blob.id));
    await readsBackExactly(store, blobs, 'one data shard missing');
    assert.equal(store.pendingRepairs, blobs.length);
    await Promise.all([store.repairPending(), store.removeAll(blobs.map((b) => b.id), true)]);
    assert.deepEqual(shardFiles(drives), []);
  });
});

describe('ec/erasure-blob-store: repair during writes and deletes (EC-2, EC-3)', () => {
  it('a shard whose folder sync failed reads back valid, yet repair makes it durable before counting the blob whole', async () => {
    const drives = makeDrives(dirs, 3);
    const faulty = new FaultyFileSystem(new NodeFileSystem(), plans.none());
    const { store } = await makeStore(dirs, 2, 1, { drives, env: { ...realEnv(), fs: faulty } });
    const blobs = sampleBlobs(41, 4);
    faulty.plan = plans.failPaths(onDrives([drives[2]!]), ['syncDir']);
    await store.putAll(blobs); // two shards durable: committed; shard 2 is in the page cache only
    assert.equal(store.pendingRepairs, blobs.length);
    faulty.plan = plans.none();
    faulty.record = true;
    const report = await store.repairPending();
    assert.equal(report.shardsRewritten, 0, 'every shard reads back valid');
    const synced = new Set(faulty.calls.filter((c) => c.op === 'syncDir').map((c) => c.path));
    for (const blob of blobs) assert.ok(synced.has(path.dirname(store.shardPath(2, blob.id))), `folder of shard 2 of ${blob.id} synced`);
    assert.equal(store.pendingRepairs, 0);
  });

  it('a repair that listed a blob before its delete half failed does not rebuild it; the garbage goes once the drives answer', async () => {
    const drives = makeDrives(dirs, 3);
    const faulty = new FaultyFileSystem(new NodeFileSystem(), plans.none());
    const { store } = await makeStore(dirs, 2, 1, { drives, env: { ...realEnv(), fs: faulty } });
    const [blob] = sampleBlobs(42, 1);
    await store.putAll([blob!]);
    fs.rmSync(store.shardPath(0, blob!.id)); // degraded: a repair would rebuild shard 0
    faulty.plan = plans.failPaths(onDrives([drives[1]!, drives[2]!]), ['unlink']);
    const [repaired, deleted] = await Promise.allSettled([store.repair(), store.removeAll([blob!.id], true)]);
    assert.equal(deleted.status, 'rejected', 'two shards left: the delete is not done');
    assert.equal(repaired.status, 'fulfilled');
    assert.equal(fs.existsSync(store.shardPath(0, blob!.id)), false, 'shard 0 of a deleted blob was not rebuilt');
    faulty.plan = plans.none();
    const report = await store.repair();
    assert.equal(report.shardsRewritten, 0);
    assert.equal(report.unrecoverable, 0);
    assert.deepEqual(shardFiles(drives), [], 'the leftovers of the delete are gone');
  });
});

describe('ec/erasure-blob-store: write quorum (EC-2)', () => {
  it('2+1 with two drives failing writes: putAll rejects and leaves no shard behind', async () => {
    const drives = makeDrives(dirs, 3);
    const faulty = new FaultyFileSystem(new NodeFileSystem(), plans.none());
    const { store } = await makeStore(dirs, 2, 1, { drives, env: { ...realEnv(), fs: faulty } });
    const [kept, ...rest] = sampleBlobs(21, 6);
    await store.putAll([kept!]);
    for (const op of ['write', 'datasync', 'syncDir']) {
      faulty.plan = plans.failPaths(onDrives([drives[0]!, drives[2]!]), [op]);
      const error = await expectSopError(store.putAll(rest), 'IO');
      assert.match(error.message, /stored [01] of 3 shards, 2 needed \(EC-2\)/, op);
      faulty.plan = plans.none();
      assert.deepEqual(shardFiles(drives).map((f) => path.basename(f)).sort(), [0, 1, 2].map((i) => `${kept!.id}.${i}`), `after failing ${op}`);
      for (const blob of rest) assert.equal(await store.get(blob.id), null);
    }
    equalBytes(await store.get(kept!.id), kept!.bytes, 'the earlier blob');
  });

  it('2+1 with exactly one drive failing writes: putAll succeeds, reads back, repair completes it', async () => {
    const drives = makeDrives(dirs, 3);
    const faulty = new FaultyFileSystem(new NodeFileSystem(), plans.failPaths(onDrives([drives[1]!]), ['write']));
    const { store } = await makeStore(dirs, 2, 1, { drives, env: { ...realEnv(), fs: faulty } });
    const blobs = sampleBlobs(22, 8);
    await store.putAll(blobs);
    await readsBackExactly(store, blobs, 'one shard short');
    assert.equal(store.pendingRepairs, blobs.length);
    faulty.plan = plans.none();
    const report = await store.repairPending();
    assert.equal(report.shardsRewritten, blobs.length);
    for (const blob of blobs) await assertAllShardsValid(store, blob.id);
  });

  it('4+2 with a drive folder gone: writes land on the others and count it as down', async () => {
    const { store, drives } = await makeStore(dirs, 4, 2);
    fs.rmSync(drives[3]!, { recursive: true, force: true });
    fs.rmSync(drives[5]!, { recursive: true, force: true });
    const blobs = sampleBlobs(23, 5);
    await store.putAll(blobs);
    await readsBackExactly(store, blobs, 'two drives down at write');
    fs.rmSync(drives[0]!, { recursive: true, force: true });
    await expectSopError(store.putAll(sampleBlobs(24, 2)), 'IO');
  });
});

describe('ec/erasure-blob-store: delete, list, remove store', () => {
  it('removeAll deletes every shard, tolerates missing ones and a gone drive', async () => {
    const { store, drives } = await makeStore(dirs, 2, 1);
    const blobs = sampleBlobs(31, 6);
    await store.putAll(blobs);
    fs.rmSync(store.shardPath(1, blobs[0]!.id));
    fs.rmSync(drives[2]!, { recursive: true, force: true });
    await store.removeAll([...blobs.map((b) => b.id), 'cd000000-0000-4000-8000-000000000000'], true);
    assert.deepEqual(shardFiles(drives), []);
    for (const blob of blobs) assert.equal(await store.get(blob.id), null);
    assert.deepEqual(await store.list(), []);
  });

  it('removeAll rejects when fewer than P+1 shards of a blob could be deleted', async () => {
    const drives = makeDrives(dirs, 3);
    const faulty = new FaultyFileSystem(new NodeFileSystem(), plans.none());
    const { store } = await makeStore(dirs, 2, 1, { drives, env: { ...realEnv(), fs: faulty } });
    const blobs = sampleBlobs(32, 2);
    await store.putAll(blobs);
    faulty.plan = plans.failPaths(onDrives([drives[0]!, drives[1]!]), ['unlink']);
    await expectSopError(store.removeAll([blobs[0]!.id]), 'IO');
    faulty.plan = plans.failPaths(onDrives([drives[0]!]), ['unlink']);
    await store.removeAll([blobs[1]!.id]); // two of three gone: it can never be read again
    await expectSopError(store.get(blobs[1]!.id), 'CORRUPT', 'IO');
  });

  it('a delete that misses a failing drive leaves a tombstone: list() drops the blob, repair() deletes the leftover once the drive is back (EC-2)', async () => {
    const drives = makeDrives(dirs, 3);
    const faulty = new FaultyFileSystem(new NodeFileSystem(), plans.none());
    const { store } = await makeStore(dirs, 2, 1, { drives, env: { ...realEnv(), fs: faulty } });
    const blobs = sampleBlobs(34, 3);
    await store.putAll(blobs);
    faulty.plan = plans.failPaths(onDrives([drives[0]!]), ['unlink']);
    await store.removeAll([blobs[0]!.id], true); // two of three gone: deleted, one leftover shard
    assert.ok(fs.existsSync(store.shardPath(0, blobs[0]!.id)), 'the failing drive kept its shard');
    assert.ok(fs.existsSync(store.tombstonePath(1, blobs[0]!.id)) && fs.existsSync(store.tombstonePath(2, blobs[0]!.id)));
    assert.deepEqual(await store.list(), blobs.slice(1).map((b) => b.id).sort());
    await store.repairPending(); // the drive still fails: the tombstones stay
    assert.ok(fs.existsSync(store.tombstonePath(1, blobs[0]!.id)));
    faulty.plan = plans.none();
    const report = await store.repair();
    assert.equal(report.unrecoverable, 0);
    assert.deepEqual(shardFiles(drives).filter((f) => f.includes(blobs[0]!.id)), [], 'leftover shard and tombstones are gone');
    assert.deepEqual(await store.list(), blobs.slice(1).map((b) => b.id).sort());
    await readsBackExactly(store, blobs.slice(1), 'after the purge');
  });

  it('a delete whose tombstone takes on P drives or fewer is not done: it rejects, and a retry once the drives answer finishes it (EC-2; seed 915205259)', async () => {
    const drives = makeDrives(dirs, 3);
    const faulty = new FaultyFileSystem(new NodeFileSystem(), plans.none());
    const { store } = await makeStore(dirs, 2, 1, { drives, env: { ...realEnv(), fs: faulty } });
    const blobs = sampleBlobs(35, 2);
    await store.putAll(blobs);
    const unlinkFails = plans.failPaths(onDrives([drives[0]!]), ['unlink']);
    const tombstoneFails = plans.failPaths(new RegExp(`^${escape(drives[1]!)}.*\\.deleted$`), ['open']);
    faulty.plan = (call) => unlinkFails(call) ?? tombstoneFails(call);
    // Two shards are gone, but the only tombstone is on drive 2: wiping drive 2 later would leave
    // drive 0's shard with no tombstone anywhere, an orphan.
    const error = await expectSopError(store.removeAll([blobs[0]!.id], true), 'IO');
    assert.match(error.message, /tombstone took on 1 drive/);
    faulty.plan = plans.none();
    await store.removeAll([blobs[0]!.id], true); // the caller's log retries it
    assert.deepEqual(shardFiles(drives).filter((f) => f.includes(blobs[0]!.id) && !f.endsWith('.deleted')), [], 'every shard is gone');
    assert.equal((await store.repair()).unrecoverable, 0);
    assert.deepEqual(shardFiles(drives).filter((f) => f.includes(blobs[0]!.id)), [], 'repair clears the tombstone left by the first try');
    assert.deepEqual(await store.list(), [blobs[1]!.id]);
    await readsBackExactly(store, blobs.slice(1), 'the other blob');
  });

  it('list() is the union over drives; removeStore() deletes the store folder on every drive', async () => {
    const { store, drives } = await makeStore(dirs, 2, 1, { name: 'orders' });
    const blobs = sampleBlobs(33, 5);
    await store.putAll(blobs);
    fs.rmSync(store.shardPath(0, blobs[0]!.id));
    fs.rmSync(store.shardPath(1, blobs[0]!.id));
    assert.deepEqual(await store.list(), blobs.map((b) => b.id).sort());
    await store.removeStore();
    for (const drive of drives) assert.deepEqual(fs.readdirSync(drive), []);
    await store.removeStore(); // again: nothing left is fine
  });

  it('create() makes the fan-out folders on every drive and may run again', async () => {
    const { store, drives } = await makeStore(dirs, 2, 1, { name: 'items' });
    await store.create();
    for (const drive of drives) assert.equal(fs.readdirSync(path.join(drive, 'items', 'blobs')).length, 256);
  });
});
