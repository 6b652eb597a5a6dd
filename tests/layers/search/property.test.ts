/**
 * Property tests against the reference BM25 (reference.ts): random transactions of adds,
 * replacements and removes, committed or rolled back, and pairs of interleaved transactions that
 * commit in either order or conflict. After each: search equals the reference over the committed
 * documents (BM25-1, BM25-3) and the statistics equal what the documents give (BM25-2).
 * fast-check prints the seed of a failing run; SOP_BM25_RUNS sets the number of runs.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { Database, SopError } from '../../../src/index.js';
import { TempDirs } from '../vector/helpers.js';
import { referenceBm25 } from './reference.js';

const RUNS = Number(process.env.SOP_BM25_RUNS ?? 15);
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'Alpha', 'the', 'x1', 'ωmega'];
const IDS = ['d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7'];

type Op = { kind: 'add'; id: string; text: string } | { kind: 'remove'; id: string };

const text = fc.array(fc.constantFrom(...WORDS), { maxLength: 10 }).map((w) => w.join(' '));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), id: fc.constantFrom(...IDS), text }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), id: fc.constantFrom(...IDS) }) },
);
const queries = fc.array(fc.array(fc.constantFrom(...WORDS, 'missing'), { minLength: 1, maxLength: 4 }).map((w) => w.join(' ')), { minLength: 1, maxLength: 4 });

async function apply(db: Database, tx: Awaited<ReturnType<Database['beginTransaction']>>, ops: Op[], docs: Map<string, string>): Promise<void> {
  const ix = await db.openSearchIndex(tx, 'ix');
  for (const [i, o] of ops.entries()) {
    if (o.kind === 'add') {
      if (i % 2 === 0) await ix.add(o.id, o.text);
      else await ix.addAll([{ id: o.id, text: o.text }]);
      docs.set(o.id, o.text);
    } else {
      assert.equal(await ix.remove(o.id), docs.delete(o.id));
    }
    assert.equal(ix.count, docs.size);
  }
}

async function check(db: Database, docs: Map<string, string>, qs: string[]): Promise<void> {
  await db.transaction('read', async (tx) => {
    const ix = await db.openSearchIndex(tx, 'ix');
    assert.equal(ix.count, docs.size);
    assert.deepEqual((await ix.verify()).problems, []);
    for (const q of qs) for (const k of [1, 3, 10]) assert.deepEqual(await ix.search(q, { k }), referenceBm25(docs, q, k), `${q} k=${k}`);
  });
}

describe('search index: property tests against a reference BM25 (BM25-1, BM25-2, BM25-3)', function () {
  this.timeout(600_000);
  const dirs = new TempDirs();
  after(() => dirs.cleanup());

  it(`random transactions, committed or rolled back (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ ops: fc.array(op, { minLength: 1, maxLength: 8 }), commit: fc.boolean() }), { minLength: 1, maxLength: 6 }), queries, async (txns, qs) => {
        const db = await Database.open({ folder: dirs.make() });
        try {
          await db.transaction('write', async (tx) => void (await db.newSearchIndex(tx, 'ix')));
          let docs = new Map<string, string>();
          for (const txn of txns) {
            const tx = await db.beginTransaction('write');
            const next = new Map(docs);
            await apply(db, tx, txn.ops, next);
            const ix = await db.openSearchIndex(tx, 'ix');
            for (const q of qs) assert.deepEqual(await ix.search(q, { k: 5 }), referenceBm25(next, q, 5), 'a transaction sees its own writes');
            if (txn.commit) {
              await tx.commit();
              docs = next;
            } else {
              await tx.rollback();
            }
            await check(db, docs, qs);
          }
        } finally {
          await db.close();
        }
      }),
      { numRuns: RUNS },
    );
  });

  it(`pairs of interleaved transactions: merged, serialized in commit order, or conflicting (${RUNS} runs)`, async () => {
    let merged = 0;
    let conflicted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.array(op, { minLength: 1, maxLength: 5 }), fc.array(op, { minLength: 1, maxLength: 5 }), fc.boolean()), { minLength: 1, maxLength: 5 }), queries, async (pairs, qs) => {
        const db = await Database.open({ folder: dirs.make() });
        try {
          await db.transaction('write', async (tx) => void (await db.newSearchIndex(tx, 'ix')));
          let docs = new Map<string, string>();
          for (const [opsA, opsB, bFirst] of pairs) {
            const a = await db.beginTransaction('write');
            const b = await db.beginTransaction('write');
            const docsA = new Map(docs);
            const docsB = new Map(docs);
            await apply(db, a, opsA, docsA);
            await apply(db, b, opsB, docsB);
            const [first, second, opsSecond] = bFirst ? [b, a, opsA] : [a, b, opsB];
            await first.commit();
            docs = bFirst ? docsB : docsA;
            try {
              await second.commit();
              merged++;
              // It merged: its operations apply after the first's (same outcome as replaying them).
              const replayed = new Map(docs);
              for (const o of opsSecond) if (o.kind === 'add') replayed.set(o.id, o.text); else replayed.delete(o.id);
              docs = replayed;
            } catch (error) {
              assert.ok(SopError.is(error, 'CONFLICT'), String(error));
              conflicted++;
            }
            await check(db, docs, qs);
          }
        } finally {
          await db.close();
        }
      }),
      { numRuns: RUNS },
    );
    assert.ok(merged > 0 && conflicted > 0, `both outcomes must occur: ${merged} merged, ${conflicted} conflicted`);
  });

  it('many concurrent writers through db.transaction: statistics stay exact (BM25-2)', async () => {
    const db = await Database.open({ folder: dirs.make() });
    try {
      await db.transaction('write', async (tx) => void (await db.newSearchIndex(tx, 'ix')));
      const docs = new Map<string, string>();
      await Promise.all(Array.from({ length: 10 }, (_, w) => db.transaction('write', async (tx) => {
        const ix = await db.openSearchIndex(tx, 'ix');
        for (let i = 0; i < 4; i++) {
          const body = `the common words ${WORDS[(w + i) % WORDS.length]} writer${w}`;
          await ix.add(`w${w}-${i}`, body);
          docs.set(`w${w}-${i}`, body);
        }
      }, { retries: 100 })));
      await check(db, docs, ['the common', 'writer3 alpha', 'words gamma gamma']);
    } finally {
      await db.close();
    }
  });
});
