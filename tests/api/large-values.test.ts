/**
 * Value blobs written before the commit (STREAM-5, TX-10, STRUCT-3): a transaction whose new
 * separate values pass 8 MiB writes them early, so memory stays bounded. Found by the stream
 * store (issue #17): one transaction streaming 1 GiB held 2.1 GiB. The early blobs must behave
 * exactly as if written at commit: readable in the transaction, gone after a rollback or a
 * crash before the commit point, kept after the commit, and a value replaced within the
 * transaction leaves no orphan.
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FaultyFileSystem, ioError } from '../../fault-injection/faulty-fs.js';
import { realEnv } from '../../src/adapters/real-env.js';
import { Database } from '../../src/database/database.js';
import type { DatabaseOptions } from '../../src/database/options.js';
import { TempDirs } from './helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());
const MIB = 1 << 20;
const value = (i: number, size = MIB): Uint8Array => new Uint8Array(size).fill(i % 251);

function blobFiles(folder: string, store: string): number {
  const dir = path.join(folder, 'stores', store, 'blobs');
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).length;
}

async function fresh(options: Omit<DatabaseOptions, 'folder'> = {}): Promise<{ folder: string; db: Database }> {
  const folder = path.join(dirs.make('sop-large-'), 'db');
  const db = await Database.open({ folder, ...options });
  await db.transaction('write', async (tx) => void (await db.newBtree<number, Uint8Array>(tx, 'big', { valueInNode: false, slotLength: 8 })));
  return { folder, db };
}

describe('value blobs written before the commit (STREAM-5, TX-10, STRUCT-3)', function () {
  this.timeout(120_000);

  it('20 values of 1 MiB in one transaction: written early, readable in it, kept by the commit, no orphan', async () => {
    const { folder, db } = await fresh();
    const before = blobFiles(folder, 'big');
    await db.transaction('write', async (tx) => {
      const big = await db.openBtree<number, Uint8Array>(tx, 'big');
      for (let i = 0; i < 20; i++) await big.add(i, value(i));
      assert.ok(blobFiles(folder, 'big') >= before + 8, 'some values are on disk before the commit');
      assert.ok(await big.find(0));
      assert.deepEqual(await big.getCurrentValue(), value(0), 'an early-written value reads back in its transaction');
      await big.update(1, value(100)); // replaces an early-written value: that blob becomes obsolete
    });
    await db.transaction('read', async (tx) => {
      const big = await db.openBtree<number, Uint8Array>(tx, 'big');
      for (let i = 0; i < 20; i++) {
        assert.ok(await big.find(i));
        assert.deepEqual(await big.getCurrentValue(), value(i === 1 ? 100 : i));
      }
    });
    await db.sweep();
    const check = await db.checkStore('big');
    assert.equal(check.count, 20);
    assert.equal(check.orphanBlobs, 0, `orphans: ${check.orphanSample.join(', ')}`);
    await db.close();
  });

  it('a rollback deletes the values it wrote early', async () => {
    const { folder, db } = await fresh();
    const before = blobFiles(folder, 'big');
    const tx = await db.beginTransaction('write');
    const big = await db.openBtree<number, Uint8Array>(tx, 'big');
    // Past 8 MiB an early write starts; the next one waits for it: after 20 MiB the first is on disk.
    for (let i = 0; i < 20; i++) await big.add(i, value(i));
    assert.ok(blobFiles(folder, 'big') >= before + 8, `${blobFiles(folder, 'big')} files, ${before} before`);
    await tx.rollback();
    assert.equal(blobFiles(folder, 'big'), before);
    assert.equal((await db.checkStore('big')).count, 0);
    await db.close();
  });

  it('a process SIGKILLed after writing values early, before its commit: reopening deletes them', async () => {
    const { folder, db } = await fresh();
    await db.close();
    const before = blobFiles(folder, 'big');
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', '-e', `
      const { Database } = await import(${JSON.stringify(new URL('../../src/index.ts', import.meta.url).pathname)});
      const db = await Database.open({ folder: ${JSON.stringify(folder)} });
      const tx = await db.beginTransaction('write');
      const big = await db.openBtree(tx, 'big');
      for (let i = 0; i < 20; i++) await big.add(i, new Uint8Array(${MIB}).fill(i));
      process.stdout.write('written\\n');
      setInterval(() => {}, 1 << 30);
    `], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_V8_COVERAGE: '' } });
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => d.toString().includes('written') && resolve());
        child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      assert.ok(blobFiles(folder, 'big') >= before + 8, 'the child wrote values before its commit');
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const again = await Database.open({ folder });
    assert.equal(again.recovery.undone, 1);
    assert.equal(blobFiles(folder, 'big'), before, 'recovery deleted the early values');
    assert.equal((await again.checkStore('big')).count, 0);
    await again.close();
  });
  it('a value replaced while its early write is in flight: the commit keeps the new one, the written one goes, no orphan', async () => {
    const { db } = await fresh();
    await db.transaction('write', async (tx) => {
      const big = await db.openBtree<number, Uint8Array>(tx, 'big');
      for (let i = 0; i < 8; i++) await big.add(i, value(i)); // past 8 MiB (with frames): an early write of all eight starts
      // It cannot have finished: it has not had a turn of the event loop for its I/O yet.
      await big.update(0, value(200));
      await big.remove(1);
    });
    await db.transaction('read', async (tx) => {
      const big = await db.openBtree<number, Uint8Array>(tx, 'big');
      assert.ok(await big.find(0));
      assert.deepEqual(await big.getCurrentValue(), value(200));
      assert.equal(await big.find(1), false);
    });
    await db.sweep();
    const check = await db.checkStore('big');
    assert.equal(check.count, 7);
    assert.equal(check.orphanBlobs, 0, `orphans: ${check.orphanSample.join(', ')}`);
    await db.close();
  });

  for (const journal of [true, false]) {
    it(`an early write that fails fails the commit, which rolls back and leaves no value file (${journal ? 'journal' : 'in place'})`, async () => {
      let fail = false;
      const base = realEnv();
      const fs2 = new FaultyFileSystem(base.fs, (call) => (fail && call.op.startsWith('write') && call.path.includes('/stores/big/blobs/') ? ioError('EIO', call) : null));
      const { folder, db } = await fresh({ env: { ...base, fs: fs2 }, journal });
      await db.sweep();
      const before = blobFiles(folder, 'big');
      fail = true;
      const tx = await db.beginTransaction('write');
      const big = await db.openBtree<number, Uint8Array>(tx, 'big');
      // The failure surfaces at the next early write or at the commit, whichever comes first.
      const outcome = await (async () => {
        for (let i = 0; i < 12; i++) await big.add(i, value(i));
        await tx.commit();
      })().then(() => 'committed', (error: { code?: string }) => error.code);
      assert.equal(outcome, 'IO');
      assert.equal(tx.state, 'rolledBack');
      fail = false;
      assert.equal(blobFiles(folder, 'big'), before, 'the rollback deleted what the failed write left');
      assert.equal((await db.checkStore('big')).count, 0);
      await db.close();
    });
  }
});
