/** Every bad input gets its typed SopError; damaged files give CORRUPT and never wrong data. */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Database, SopError, type Btree, type Transaction } from '../../src/index.js';
import { TempDirs, blobFiles, expectSopError, flipByte, freshDb, listFiles, openFilesUnder, range, readStore, seedStore, walk } from './helpers.js';

describe('api errors: keys and values (API-1)', () => {
  const dirs = new TempDirs();
  let db: Database;
  before(async () => {
    ({ db } = await freshDb(dirs));
    for (const valueInNode of [true, false]) await seedStore(db, `s-${valueInNode}`, [[1, 'one'], [2, 'two']], { valueInNode });
  });
  after(async () => {
    await db.close();
    dirs.cleanup();
  });

  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  const badKeys: Array<[string, unknown]> = [
    ['undefined', undefined],
    ['NaN', NaN],
    ['null', null],
    ['a function', () => 1],
    ['a symbol', Symbol('k')],
    ['a Map', new Map([[1, 2]])],
    ['a Set', new Set([1])],
    ['a cycle', cycle],
    ['an invalid Date', new Date(NaN)],
    ['a lone surrogate', 'a\ud800'],
    ['a class instance', new (class Point { x = 1 })()],
    ['an array holding NaN', [1, NaN]],
    ['an object holding undefined', { a: undefined }],
  ];
  const badValues: Array<[string, unknown]> = [
    ['a function', () => 1],
    ['a symbol', Symbol('v')],
    ['a Map', new Map()],
    ['a Set', new Set()],
    ['a cycle', cycle],
    ['a nested function', { ok: 1, nested: [{ f: () => 2 }] }],
    ['a class instance', new (class Thing {})()],
    ['a WeakMap', new WeakMap()],
    ['an invalid Date', new Date(NaN)],
    ['a symbol-keyed object', { [Symbol('s')]: 1 }],
  ];

  for (const valueInNode of [true, false]) {
    const name = `s-${valueInNode}`;
    describe(`valueInNode=${valueInNode}`, () => {
      /** Runs fn in a write transaction that commits; the store must be unchanged afterwards. */
      async function unchangedAfter(fn: (t: Btree<unknown, unknown>) => Promise<void>): Promise<void> {
        await db.transaction('write', async (tx) => {
          const t = await db.openBtree<unknown, unknown>(tx, name);
          await fn(t);
          assert.equal(t.count, 2);
        });
        assert.deepEqual(await readStore(db, name, (t) => walk(t)), [[1, 'one'], [2, 'two']]);
      }

      for (const [label, key] of badKeys) {
        it(`a key that is ${label} is INVALID_ARGUMENT for every keyed method`, async () => {
          await unchangedAfter(async (t) => {
            await expectSopError(t.add(key, 'v'), 'INVALID_ARGUMENT');
            await expectSopError(t.addIfNotExist(key, 'v'), 'INVALID_ARGUMENT');
            await expectSopError(t.upsert(key, 'v'), 'INVALID_ARGUMENT');
            await expectSopError(t.update(key, 'v'), 'INVALID_ARGUMENT');
            await expectSopError(t.remove(key), 'INVALID_ARGUMENT');
            await expectSopError(t.find(key), 'INVALID_ARGUMENT');
          });
        });
      }

      for (const [label, value] of badValues) {
        it(`a value that is ${label} is INVALID_ARGUMENT and stores nothing`, async () => {
          await unchangedAfter(async (t) => {
            await expectSopError(t.add(3, value), 'INVALID_ARGUMENT');
            await expectSopError(t.addIfNotExist(3, value), 'INVALID_ARGUMENT');
            await expectSopError(t.upsert(3, value), 'INVALID_ARGUMENT');
            await expectSopError(t.upsert(1, value), 'INVALID_ARGUMENT');
            await expectSopError(t.update(2, value), 'INVALID_ARGUMENT');
            assert.equal(await t.find(2), true);
            await expectSopError(t.updateCurrentValue(value), 'INVALID_ARGUMENT');
            assert.equal(await t.find(3), false);
          });
        });
      }
    });
  }
});

describe('api errors: store names cannot escape the data folder (STORE-4)', () => {
  const dirs = new TempDirs();
  let root: string;
  let db: Database;
  const tag = `${process.pid}-${Date.now()}`;
  const escapes = [`../escape-${tag}`, `../../escape-${tag}`, `..\\escape-${tag}`, `${os.tmpdir()}/abs-${tag}`, `ok/../../../escape-${tag}`];
  const badNames: unknown[] = [
    ...escapes,
    'a/b',
    'a\\b',
    '..',
    '.',
    'a..b',
    '',
    '.hidden',
    '-dash',
    'x'.repeat(200),
    'x'.repeat(101),
    'nul\0byte',
    'new\nline',
    'spa ce',
    5,
    null,
    undefined,
  ];
  before(async () => {
    root = dirs.make();
    db = await Database.open({ folder: path.join(root, 'db') });
  });
  after(async () => {
    await db.close();
    dirs.cleanup();
  });

  it('every API taking a name rejects bad names with INVALID_ARGUMENT', async () => {
    const tx = await db.beginTransaction('write');
    for (const name of badNames) {
      const label = JSON.stringify(name) ?? String(name);
      const n = name as string;
      assert.equal((await expectSopError(db.newBtree(tx, n), 'INVALID_ARGUMENT')).code, 'INVALID_ARGUMENT', label);
      await expectSopError(db.openBtree(tx, n), 'INVALID_ARGUMENT');
      await expectSopError(db.removeBtree(n), 'INVALID_ARGUMENT');
      await expectSopError(db.checkStore(n), 'INVALID_ARGUMENT');
    }
    assert.equal(tx.state, 'active');
    await tx.commit();
  });

  it('a 100-character name is the longest accepted', async () => {
    await seedStore(db, 'y'.repeat(100), [[1, 1]]);
    assert.deepEqual((await db.listStores()).map((s) => s.name), ['y'.repeat(100)]);
    assert.equal(await db.removeBtree('y'.repeat(100)), true);
  });

  it('nothing was created outside the data folder', async () => {
    assert.deepEqual(fs.readdirSync(root), ['db']);
    assert.deepEqual(fs.readdirSync(path.join(root, 'db')).sort(), ['sop.db', 'sop.lock', 'stores', 'translogs']);
    assert.deepEqual(fs.readdirSync(path.join(root, 'db', 'stores')), []);
    for (const name of fs.readdirSync(os.tmpdir())) assert.ok(!name.includes(tag), `${name} appeared in ${os.tmpdir()}`);
    assert.equal(fs.existsSync(path.join(path.dirname(root), `escape-${tag}`)), false);
  });
});

describe('api errors: store options', () => {
  const dirs = new TempDirs();
  let db: Database;
  before(async () => {
    ({ db } = await freshDb(dirs));
    await seedStore(db, 'existing', [[1, 1]], { slotLength: 8, isUnique: true, valueInNode: true });
  });
  after(async () => {
    await db.close();
    dirs.cleanup();
  });

  const contradictions: Array<[string, object]> = [
    ['slotLength', { slotLength: 9 }],
    ['isUnique', { isUnique: false }],
    ['valueInNode', { valueInNode: false }],
    ['keyOrder', { keyOrder: [{ field: 'a' }] }],
    ['comparer', { comparer: (a: number, b: number) => a - b }],
  ];
  for (const [label, options] of contradictions) {
    it(`newBtree with a ${label} that contradicts the existing store is INVALID_ARGUMENT`, async () => {
      await db.transaction('write', async (tx) => {
        await expectSopError(db.newBtree(tx, 'existing', options), 'INVALID_ARGUMENT');
      });
    });
  }

  it('newBtree with matching or omitted options opens the existing store', async () => {
    await db.transaction('read', async (tx) => {
      assert.equal((await db.newBtree(tx, 'existing', { slotLength: 8, isUnique: true, valueInNode: true })).count, 1);
      assert.equal((await db.newBtree(tx, 'existing')).count, 1);
    });
  });

  for (const slotLength of [0, 1, 1.5, 100000, 10001, -4, NaN, Infinity, '8']) {
    it(`slotLength ${String(slotLength)} is INVALID_ARGUMENT and creates nothing`, async () => {
      await db.transaction('write', async (tx) => {
        await expectSopError(db.newBtree(tx, 'sized', { slotLength: slotLength as number }), 'INVALID_ARGUMENT');
      });
      assert.deepEqual((await db.listStores()).map((s) => s.name), ['existing']);
    });
  }

  it('slotLength 2 and 10000 are accepted', async () => {
    await seedStore(db, 'min', range(10).map((i) => [i, i] as const), { slotLength: 2 });
    await seedStore(db, 'max', range(10).map((i) => [i, i] as const), { slotLength: 10000 });
    assert.equal((await db.checkStore('min')).count, 10);
    assert.equal((await db.checkStore('max')).depth, 1);
    assert.equal(await db.removeBtree('min'), true);
    assert.equal(await db.removeBtree('max'), true);
  });

  for (const [label, options] of [
    ['isUnique "yes"', { isUnique: 'yes' }],
    ['valueInNode 1', { valueInNode: 1 }],
    ['comparer 5', { comparer: 5 }],
    ['options null', null],
    ['options "x"', 'x'],
  ] as Array<[string, unknown]>) {
    it(`${label} is INVALID_ARGUMENT`, async () => {
      await db.transaction('write', async (tx) => {
        await expectSopError(db.newBtree(tx, 'typed', options as never), 'INVALID_ARGUMENT');
      });
      assert.deepEqual((await db.listStores()).map((s) => s.name), ['existing']);
    });
  }
});

describe('api errors: transactions (TX-1, TX-2, TX-9)', () => {
  const dirs = new TempDirs();
  let db: Database;
  before(async () => {
    ({ db } = await freshDb(dirs));
    await seedStore(db, 's', [[1, 'one'], [2, 'two']]);
  });
  after(async () => {
    await db.close();
    dirs.cleanup();
  });

  /** Every Btree and Database call that takes the transaction, each expected to fail with `code`. */
  function callsOn(tx: Transaction, t: Btree<number, string>): Array<[string, () => Promise<unknown> | unknown]> {
    return [
      ['add', () => t.add(9, 'x')],
      ['addIfNotExist', () => t.addIfNotExist(9, 'x')],
      ['upsert', () => t.upsert(9, 'x')],
      ['update', () => t.update(1, 'x')],
      ['remove', () => t.remove(1)],
      ['updateCurrentValue', () => t.updateCurrentValue('x')],
      ['removeCurrentItem', () => t.removeCurrentItem()],
      ['find', () => t.find(1)],
      ['getCurrentKey', () => t.getCurrentKey()],
      ['getCurrentValue', () => t.getCurrentValue()],
      ['first', () => t.first()],
      ['last', () => t.last()],
      ['next', () => t.next()],
      ['previous', () => t.previous()],
      ['range', () => t.range().next()],
      ['openBtree', () => db.openBtree(tx, 's')],
      ['newBtree', () => db.newBtree(tx, 'fresh')],
      ['commit', () => tx.commit()],
    ];
  }

  for (const mode of ['write', 'read', 'nocheck'] as const) {
    for (const end of ['commit', 'rollback'] as const) {
      it(`every call on a ${mode} transaction after ${end} is TX_CLOSED`, async () => {
        const tx = await db.beginTransaction(mode);
        const t = await db.openBtree<number, string>(tx, 's');
        await t.find(1);
        await tx[end]();
        assert.equal(tx.state, end === 'commit' ? 'committed' : 'rolledBack');
        for (const [label, call] of callsOn(tx, t)) {
          await expectSopError(Promise.resolve().then(call), 'TX_CLOSED').catch((error: Error) => {
            throw new Error(`${label}: ${error.message}`);
          });
        }
        if (end === 'commit') await expectSopError(tx.rollback(), 'TX_CLOSED');
        else await tx.rollback(); // a second rollback is a no-op
        assert.deepEqual((await db.listStores()).map((s) => s.name), ['s']);
      });
    }
  }

  for (const mode of ['read', 'nocheck'] as const) {
    it(`writes in a ${mode} transaction are READ_ONLY and reads work`, async () => {
      const tx = await db.beginTransaction(mode);
      const t = await db.openBtree<number, string>(tx, 's');
      assert.equal(await t.find(1), true);
      for (const [label, call] of [
        ['add', () => t.add(9, 'x')],
        ['addIfNotExist', () => t.addIfNotExist(9, 'x')],
        ['upsert', () => t.upsert(1, 'x')],
        ['update', () => t.update(1, 'x')],
        ['remove', () => t.remove(1)],
        ['updateCurrentValue', () => t.updateCurrentValue('x')],
        ['removeCurrentItem', () => t.removeCurrentItem()],
        ['newBtree of a missing store', () => db.newBtree(tx, 'created-by-reader')],
      ] as Array<[string, () => Promise<unknown>]>) {
        await expectSopError(call(), 'READ_ONLY').catch((error: Error) => {
          throw new Error(`${label}: ${error.message}`);
        });
      }
      assert.equal(t.getCurrentKey(), 1, 'a refused write leaves the cursor where it was');
      assert.deepEqual(await walk(t), [[1, 'one'], [2, 'two']]);
      await tx.commit();
      assert.deepEqual((await db.listStores()).map((s) => s.name), ['s']);
    });
  }

  it('openBtree of a missing store is STORE_NOT_FOUND', async () => {
    await db.transaction('write', async (tx) => {
      await expectSopError(db.openBtree(tx, 'missing'), 'STORE_NOT_FOUND');
    });
    assert.deepEqual((await db.listStores()).map((s) => s.name), ['s']);
  });

  for (const mode of ['writ', 'WRITE', '', 'readonly', undefined, 7]) {
    it(`beginTransaction(${JSON.stringify(mode)}) is INVALID_ARGUMENT`, async () => {
      await expectSopError(db.beginTransaction(mode as never), 'INVALID_ARGUMENT');
      await expectSopError(db.transaction(mode as never, async () => 1), 'INVALID_ARGUMENT');
    });
  }

  for (const maxTimeMs of [-1, 0, NaN, '1000']) {
    it(`maxTimeMs ${JSON.stringify(maxTimeMs) ?? String(maxTimeMs)} is INVALID_ARGUMENT`, async () => {
      await expectSopError(db.beginTransaction('write', { maxTimeMs: maxTimeMs as number }), 'INVALID_ARGUMENT');
    });
  }

  for (const retries of [-1, 1.5, NaN]) {
    it(`transaction retries ${retries} is INVALID_ARGUMENT and fn never runs`, async () => {
      let ran = false;
      await expectSopError(db.transaction('write', async () => (ran = true), { retries }), 'INVALID_ARGUMENT');
      assert.equal(ran, false);
    });
  }

  it('a read or nocheck commit with an already-aborted signal is TIMEOUT too, and rolls back (TX-9; as SOP)', async () => {
    // Found from outside on a887733: a read transaction's commit ignored a signal that had fired.
    for (const mode of ['read', 'nocheck'] as const) {
      const tx = await db.beginTransaction(mode, { signal: AbortSignal.abort(new Error('stop')) });
      const t = await db.openBtree<number, unknown>(tx, 's');
      await t.first();
      await expectSopError(tx.commit(), 'TIMEOUT');
      assert.equal(tx.state, 'rolledBack', mode);
    }
  });

  it('a commit with an already-aborted signal is TIMEOUT and leaves nothing behind', async () => {
    await seedStore(db, 'blobs', range(20).map((i) => [i, { i }] as const), { valueInNode: false, slotLength: 4 });
    const before = listFiles(db.folder);
    const tx = await db.beginTransaction('write', { signal: AbortSignal.abort(new Error('stop')) });
    const t = await db.openBtree<number, { i: number }>(tx, 'blobs');
    for (let i = 0; i < 20; i += 2) await t.update(i, { i: -i });
    for (let i = 20; i < 40; i++) await t.add(i, { i });
    await t.remove(1);
    const created = await db.newBtree<number, number>(tx, 'created', { valueInNode: false });
    await created.add(1, 1);
    const error = await expectSopError(tx.commit(), 'TIMEOUT');
    assert.ok(error instanceof SopError);
    assert.equal(tx.state, 'rolledBack');
    assert.deepEqual(listFiles(db.folder), before, 'no blob, log or store left behind');
    assert.deepEqual((await db.listStores()).map((s) => s.name), ['blobs', 's']);
    assert.deepEqual(await readStore(db, 'blobs', (r) => walk(r)), range(20).map((i) => [i, { i }]));
    const check = await db.checkStore('blobs');
    assert.equal(check.count, 20);
    assert.equal(check.orphanBlobs, 0);
  });
});

describe('api errors: Database.open and a closed database', () => {
  const dirs = new TempDirs();
  after(() => dirs.cleanup());

  it('a path that is a file is INVALID_ARGUMENT', async () => {
    const file = path.join(dirs.make(), 'a-file');
    fs.writeFileSync(file, 'not a folder');
    await expectSopError(Database.open({ folder: file }), 'INVALID_ARGUMENT');
    assert.equal(fs.readFileSync(file, 'utf8'), 'not a folder');
  });

  for (const [label, options] of [
    ['an empty folder', () => ({ folder: '' })],
    ['no folder', () => ({})],
    ['a non-string folder', () => ({ folder: 42 })],
    ['mode "cluster"', (folder) => ({ folder, mode: 'cluster' })],
    ['mode "Standalone"', (folder) => ({ folder, mode: 'Standalone' })],
    ['registryHashMod 0', (folder) => ({ folder, registryHashMod: 0 })],
    ['registryHashMod 1.5', (folder) => ({ folder, registryHashMod: 1.5 })],
    ['registryHashMod 100001', (folder) => ({ folder, registryHashMod: 100001 })],
    // Found from outside on a887733: these were accepted, or refused only after sop.db and translogs/ existed.
    ['erasureCoding with too few drives', (folder) => ({ folder, erasureCoding: { dataShards: 2, parityShards: 1, drives: [`${folder}-d0`] } })],
    ['erasureCoding "yes"', (folder) => ({ folder, erasureCoding: 'yes' })],
    ['nodeCacheSize -5', (folder) => ({ folder, nodeCacheSize: -5 })],
    ['nodeCacheSize 0', (folder) => ({ folder, nodeCacheSize: 0 })],
    ['nodeCacheSize "big"', (folder) => ({ folder, nodeCacheSize: 'big' })],
    ['maintenance.sweepIntervalMs "soon"', (folder) => ({ folder, maintenance: { sweepIntervalMs: 'soon' } })],
    ['maintenance.busySweepIntervalMs NaN', (folder) => ({ folder, maintenance: { busySweepIntervalMs: Number.NaN } })],
    ['maintenance 5', (folder) => ({ folder, maintenance: 5 })],
    ['clusterGraceMs -1', (folder) => ({ folder, clusterGraceMs: -1 })],
    ['journal "yes"', (folder) => ({ folder, journal: 'yes' })],
    ['journal.maxRecords 0', (folder) => ({ folder, journal: { maxRecords: 0 } })],
    ['replication.passive inside the folder', (folder) => ({ folder, replication: { passive: `${folder}/replica` } })],
    ['replication.passive ""', (folder) => ({ folder, replication: { passive: '' } })],
    ["mode 'clustered' without redis", (folder) => ({ folder, mode: 'clustered' })],
    ['fallback 42', (folder) => ({ folder, fallback: 42 })],
    ['an unknown option (registryHashmod)', (folder) => ({ folder, registryHashmod: 4 })],
  ] as Array<[string, (folder: string) => Record<string, unknown>]>) {
    it(`${label} is INVALID_ARGUMENT`, async () => {
      const folder = path.join(dirs.make(), 'db');
      await expectSopError(Database.open(options(folder) as never), 'INVALID_ARGUMENT');
      assert.deepEqual(fs.readdirSync(path.dirname(folder)), [], 'nothing created: no folder, no drive');
    });
  }

  it('every call after close is UNAVAILABLE', async () => {
    const { db } = await freshDb(dirs);
    await seedStore(db, 's', [[1, 1]]);
    await db.close();
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['beginTransaction', () => db.beginTransaction('write')],
      ['transaction', () => db.transaction('read', async () => 1)],
      ['listStores', () => db.listStores()],
      ['removeBtree', () => db.removeBtree('s')],
      ['checkStore', () => db.checkStore('s')],
      ['sweep', () => db.sweep()],
    ];
    for (const [label, call] of calls) {
      await expectSopError(call(), 'UNAVAILABLE').catch((error: Error) => {
        throw new Error(`${label}: ${error.message}`);
      });
    }
  });

  it('newBtree/openBtree with a transaction begun before close are UNAVAILABLE or TX_CLOSED', async () => {
    const { db } = await freshDb(dirs);
    await seedStore(db, 's', [[1, 1]]);
    const tx = await db.beginTransaction('write');
    await db.close();
    for (const call of [() => db.openBtree(tx, 's'), () => db.newBtree(tx, 'x')]) {
      try {
        await call();
        assert.fail('expected an error');
      } catch (error) {
        assert.ok(error instanceof SopError && (error.code === 'UNAVAILABLE' || error.code === 'TX_CLOSED'), String(error));
      }
    }
  });
});

describe('api errors: damaged files', () => {
  const dirs = new TempDirs();
  after(() => dirs.cleanup());

  const entries = range(24).map((i) => [i, { i, text: `value ${i}`.repeat(1 + (i % 3)) }] as const);

  /**
   * Reads every key (each in its own transaction) and then walks the store: each read must
   * return exactly the original value or fail with CORRUPT. Returns how many reads failed.
   */
  async function readAllStrictly(db: Database, name: string): Promise<number> {
    let corrupt = 0;
    const attempt = async (what: string, read: (t: Btree<number, unknown>) => Promise<void>) => {
      const tx = await db.beginTransaction('read');
      try {
        await read(await db.openBtree<number, unknown>(tx, name));
      } catch (error) {
        if (!(error instanceof SopError) || error.code !== 'CORRUPT') throw new Error(`${what}: expected CORRUPT or exact data, got ${String(error)}`);
        corrupt++;
      } finally {
        if (tx.state === 'active') await tx.rollback();
      }
    };
    for (const [k, v] of entries) {
      await attempt(`find ${k}`, async (t) => {
        assert.equal(await t.find(k), true, `find ${k} returned false for a stored key`);
        assert.equal(t.getCurrentKey(), k);
        assert.deepStrictEqual(await t.getCurrentValue(), v, `value of ${k}`);
      });
    }
    await attempt('walk', async (t) => assert.deepStrictEqual(await walk(t), entries.map(([k, v]) => [k, v])));
    await attempt('reverse range', async (t) => {
      const got: Array<[number, unknown]> = [];
      for await (const e of t.range({ reverse: true })) got.push(e);
      assert.deepStrictEqual(got, entries.map(([k, v]) => [k, v]).reverse());
    });
    return corrupt;
  }

  for (const valueInNode of [true, false]) {
    it(`a flipped byte in any one blob file gives CORRUPT or exact data (valueInNode=${valueInNode})`, async () => {
      const { db, folder } = await freshDb(dirs);
      await seedStore(db, 'victim', entries, { slotLength: 4, valueInNode });
      await db.close();
      const files = blobFiles(folder, 'victim');
      assert.ok(files.length >= (valueInNode ? 7 : 30), `${files.length} blob files`);
      let detected = 0;
      for (const [i, file] of files.entries()) {
        const size = fs.statSync(file).size;
        const offsets = [0, 6, 9, 13, 16, size >> 1, size - 1];
        const restore = flipByte(file, offsets[i % offsets.length]!);
        const damaged = await Database.open({ folder });
        try {
          const failures = await readAllStrictly(damaged, 'victim');
          assert.ok(failures > 0, `the flip in ${path.basename(file)} at ${offsets[i % offsets.length]} went unnoticed by every read`);
          detected++;
        } finally {
          await damaged.close();
          restore();
        }
      }
      assert.equal(detected, files.length);
      const healed = await Database.open({ folder });
      assert.equal(await readAllStrictly(healed, 'victim'), 0, 'restored files read back fine');
      await healed.close();
    });
  }

  it('a flipped byte in every blob file at once gives CORRUPT, never wrong data', async () => {
    const { db, folder } = await freshDb(dirs);
    await seedStore(db, 'victim', entries, { slotLength: 4, valueInNode: false });
    await db.close();
    for (const [i, file] of blobFiles(folder, 'victim').entries()) flipByte(file, 16 + i);
    const damaged = await Database.open({ folder });
    try {
      assert.equal(await readAllStrictly(damaged, 'victim'), entries.length + 2);
    } finally {
      await damaged.close();
    }
  });

  /** Opens the folder and the store; returns the error, or null if both worked. */
  async function openError(folder: string, name: string): Promise<unknown> {
    let db: Database | undefined;
    try {
      db = await Database.open({ folder });
      await db.transaction('read', async (tx) => (await db!.openBtree(tx, name)).first());
      return null;
    } catch (error) {
      return error;
    } finally {
      await db?.close();
    }
  }

  for (const offset of [0, 5, 12, 20, 40, -1]) {
    it(`a flipped byte in storeinfo (offset ${offset}) is CORRUPT at open or openBtree`, async () => {
      const { db, folder } = await freshDb(dirs);
      await seedStore(db, 'victim', entries.slice(0, 5));
      await db.close();
      const info = path.join(folder, 'stores', 'victim', 'storeinfo');
      flipByte(info, offset < 0 ? fs.statSync(info).size - 1 : offset);
      const error = await openError(folder, 'victim');
      assert.ok(error instanceof SopError && error.code === 'CORRUPT', `got ${String(error)}`);
    });
  }

  for (const keep of [0, 100, 4096 * 3 + 7]) {
    it(`a registry segment truncated to ${keep} bytes is CORRUPT`, async () => {
      const { db, folder } = await freshDb(dirs);
      await seedStore(db, 'victim', entries.slice(0, 5));
      await db.close();
      const segment = path.join(folder, 'stores', 'victim', 'victim-1.reg');
      assert.ok(fs.statSync(segment).size > keep);
      fs.truncateSync(segment, keep);
      const error = await openError(folder, 'victim');
      assert.ok(error instanceof SopError && error.code === 'CORRUPT', `got ${String(error)}`);
    });
  }

  it('a failed open closes every file it opened (no descriptor left on the damaged folder)', async () => {
    const { db, folder } = await freshDb(dirs);
    await seedStore(db, 'victim', entries.slice(0, 5));
    await db.close();
    fs.truncateSync(path.join(folder, 'stores', 'victim', 'victim-1.reg'), 100);
    for (let i = 0; i < 5; i++) await expectSopError(Database.open({ folder }), 'CORRUPT');
    assert.deepEqual(openFilesUnder(folder), [], 'file descriptors still open after Database.open failed');
  });

  it('a flipped byte in a used registry sector is CORRUPT', async () => {
    const { db, folder } = await freshDb(dirs);
    await seedStore(db, 'victim', entries.slice(0, 5));
    await db.close();
    const segment = path.join(folder, 'stores', 'victim', 'victim-1.reg');
    const bytes = fs.readFileSync(segment);
    const used = bytes.findIndex((b) => b !== 0);
    assert.ok(used >= 0, 'the segment holds at least one handle');
    flipByte(segment, used + 10);
    const error = await openError(folder, 'victim');
    assert.ok(error instanceof SopError && error.code === 'CORRUPT', `got ${String(error)}`);
  });
});

