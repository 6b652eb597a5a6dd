/**
 * Journal mode over erasure-coded blobs (spec JNL-1..JNL-4 with EC-1..EC-3): a blob is durable in
 * the journal record and coded onto the drives once, at the checkpoint. A commit writes no shard;
 * replay after a power loss codes the blobs only the journal held; the shards it writes serve
 * degraded reads like any other.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultyFileSystem, ioError } from '../../fault-injection/faulty-fs.js';
import { Database, realEnv } from '../../src/index.js';
import { countingFs, newCounters } from '../../benchmarks/lib/sop-adapter.js';

const STORE = 'kv';
const made: string[] = [];

function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sop-journal-ec-'));
  made.push(dir);
  return dir;
}

/** A folder and its three drives (2 data + 1 parity shards). */
function layout(): { folder: string; drives: string[] } {
  const root = temp();
  return { folder: join(root, 'db'), drives: [0, 1, 2].map((d) => join(root, `d${d}`)) };
}

function ec(drives: string[]): { dataShards: number; parityShards: number; drives: string[] } {
  return { dataShards: 2, parityShards: 1, drives };
}

/** The shard files (and tombstones) on a drive: everything under its stores' blobs/ folders. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.includes('/blobs/')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

async function upsert(db: Database, entries: Array<[number, string]>, create = false): Promise<void> {
  await db.transaction('write', async (tx) => {
    const tree = create ? await db.newBtree<number, string>(tx, STORE, { slotLength: 8 }) : await db.openBtree<number, string>(tx, STORE);
    for (const [k, v] of entries) await tree.upsert(k, v);
  });
}

async function contents(db: Database): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  await db.transaction('read', async (tx) => {
    for await (const [k, v] of (await db.openBtree<number, string>(tx, STORE)).range()) out.set(k, v);
  });
  return out;
}

describe('journal mode with erasure coding (JNL-2, JNL-3, EC-2)', function () {
  this.timeout(60_000);
  after(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  it('a commit costs one sync and writes no shard; the checkpoint codes each live blob once', async () => {
    const { folder, drives } = layout();
    const counters = newCounters();
    const env = realEnv();
    const db = await Database.open({ folder, journal: { maxRecords: 10_000 }, erasureCoding: ec(drives), env: { ...env, fs: countingFs(env.fs, counters) } });
    const expected = new Map<number, string>();
    try {
      await upsert(db, [[0, 'zero']], true);
      expected.set(0, 'zero');
      const shardsBefore = drives.map((d) => files(d).length);
      for (let i = 1; i <= 30; i++) {
        const before = { ...counters };
        await upsert(db, [[i % 10, `v${i}`]]);
        expected.set(i % 10, `v${i}`);
        assert.equal(counters.fsyncs - before.fsyncs, 1, `commit ${i}: one sync, the record's`);
        assert.equal(counters.writes - before.writes, 1, `commit ${i}: one write, the record`);
      }
      assert.deepEqual(drives.map((d) => files(d).length), shardsBefore, 'no shard written before the checkpoint');
    } finally {
      await db.close(); // checkpoints
    }
    const again = await Database.open({ folder, erasureCoding: ec(drives) });
    try {
      assert.equal(again.journalReplay.replayed, 0, 'the close checkpointed every record');
      assert.deepEqual(await contents(again), expected);
      const check = await again.checkStore(STORE);
      assert.equal(check.orphanBlobs, 0, 'no blob replaced before the checkpoint was coded (or it was deleted)');
      // Each drive holds one shard per live blob: the checkpoint coded every one, and only those.
      for (const d of drives) assert.equal(files(d).length, check.nodes, `drive ${d}: one shard per live node blob`);
    } finally {
      await again.close();
    }
  });

  it('replay after a power loss codes the blobs only the journal held, and their shards serve a degraded read', async () => {
    const { folder, drives } = layout();
    const db = await Database.open({ folder, journal: { maxRecords: 10_000 }, erasureCoding: ec(drives) });
    const expected = new Map<number, string>();
    const copy = layout();
    try {
      const first: Array<[number, string]> = Array.from({ length: 100 }, (_, i) => [i, `first-${i}`]);
      await upsert(db, first, true);
      for (const [k, v] of first) expected.set(k, v);
      for (let round = 0; round < 4; round++) {
        const batch: Array<[number, string]> = Array.from({ length: 25 }, (_, i) => [round * 31 + i, `round${round}-${i}`]);
        await upsert(db, batch);
        for (const [k, v] of batch) expected.set(k, v);
      }
      // A power loss before any checkpoint: the folder and the drives as they are now.
      cpSync(folder, copy.folder, { recursive: true });
      drives.forEach((d, i) => cpSync(d, copy.drives[i]!, { recursive: true }));
    } finally {
      await db.close();
    }
    const reopened = await Database.open({ folder: copy.folder, erasureCoding: ec(copy.drives) });
    try {
      assert.equal(reopened.journalReplay.replayed, 5, 'every record replayed');
      assert.deepEqual(await contents(reopened), expected);
      assert.equal((await reopened.checkStore(STORE)).orphanBlobs, 0);
    } finally {
      await reopened.close();
    }
    // Drive 1 lost: D = 2 shards of every blob remain, so every read still answers.
    rmSync(copy.drives[1]!, { recursive: true, force: true });
    const degraded = await Database.open({ folder: copy.folder, erasureCoding: ec(copy.drives) });
    try {
      assert.deepEqual(await contents(degraded), expected);
    } finally {
      await degraded.close();
    }
  });

  it('a checkpoint that cannot code a blob onto D drives fails whole: no mark, the records replay at the next open (JNL-3, EC-2)', async () => {
    const { folder, drives } = layout();
    let drivesDown = false;
    // Two of the three drives refuse writes: below D = 2 shards, so no blob may count as stored.
    const fs = new FaultyFileSystem(realEnv().fs, (call) => (drivesDown && (call.path.startsWith(drives[1]!) || call.path.startsWith(drives[2]!)) && call.op !== 'readFile' && call.op !== 'stat' && call.op !== 'readdir' ? ioError('EIO', call) : null));
    const db = await Database.open({ folder, journal: { maxRecords: 10_000 }, erasureCoding: ec(drives), env: { ...realEnv(), fs } });
    await upsert(db, [[1, 'a']], true);
    await upsert(db, [[2, 'b']]);
    const shardsBefore = drives.map((d) => files(d).length);
    drivesDown = true;
    await db.close(); // its checkpoint fails coding the blobs (an incident, not a throw)
    drivesDown = false;
    assert.ok(!readdirSync(join(folder, 'translogs')).includes('journal.checkpoint'), 'no mark: nothing checkpointed');
    assert.deepEqual(drives.map((d) => files(d).length), shardsBefore, 'the failed write left no shard behind (EC-2)');
    const reopened = await Database.open({ folder, erasureCoding: ec(drives) });
    try {
      assert.equal(reopened.journalReplay.replayed, 2, 'both records replayed');
      assert.deepEqual(await contents(reopened), new Map([[1, 'a'], [2, 'b']]));
      assert.equal((await reopened.checkStore(STORE)).orphanBlobs, 0);
    } finally {
      await reopened.close();
    }
  });
});
