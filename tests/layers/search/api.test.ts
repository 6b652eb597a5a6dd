/** The BM25 index's public API by example: the calls, ranking, analyzers, options, bad input, rollback, reopen. */
import { strict as assert } from 'node:assert';
import { Database } from '../../../src/index.js';
import { standardAnalyzer } from '../../../src/layers/search/index.js';
import { TempDirs, expectCode, freshDb } from '../vector/helpers.js';
import { referenceBm25 } from './reference.js';

describe('search index: API (BM25-1, BM25-3, BM25-4, BM25-5)', () => {
  const dirs = new TempDirs();
  let db: Database;
  beforeEach(async () => {
    db = await freshDb(dirs);
  });
  afterEach(async () => {
    await db.close();
  });
  after(() => dirs.cleanup());

  it("the issue's calls: add (upsert), remove, search with k, best first (BM25-1, BM25-3)", async () => {
    await db.transaction('write', async (tx) => {
      const ix = await db.newSearchIndex(tx, 'wiki', { k1: 1.2, b: 0.75 });
      await ix.add('page-1', 'text about apples');
      await ix.add('page-2', 'pears and apples and more apples');
      await ix.add('page-1', 'now it is about pears');
      assert.equal(ix.count, 2);
      const top = await ix.search('apples', { k: 10 });
      assert.deepEqual(top.map((h) => h.id), ['page-2'], 'the replaced text no longer matches');
      assert.equal(await ix.remove('page-1'), true);
      assert.equal(await ix.remove('page-1'), false);
      assert.equal(ix.count, 1);
      assert.deepEqual(await ix.search('pears', { k: 10 }), referenceBm25(new Map([['page-2', 'pears and apples and more apples']]), 'pears', 10));
      assert.deepEqual((await ix.verify()).problems, []);
    });
  });

  it("ranks as SOP's tests pin it: more occurrences first, shorter documents first, both terms beat one (BM25-1)", async () => {
    await db.transaction('write', async (tx) => {
      const ix = await db.newSearchIndex(tx, 'rank');
      await ix.add('single', 'apple');
      await ix.add('triple', 'apple apple apple');
      await ix.add('long', 'a long document that mentions apple once among many other words here');
      await ix.add('both', 'apple banana');
      await ix.add('banana', 'banana');
      assert.deepEqual((await ix.search('apple', { k: 10 })).map((h) => h.id), ['triple', 'single', 'both', 'long']);
      assert.equal((await ix.search('apple banana', { k: 1 }))[0]!.id, 'both');
    });
  });

  it('scores equal the reference BM25 exactly, defaults and other k1/b (BM25-1)', async () => {
    const texts = new Map([
      ['a', 'The quick brown fox jumps over the lazy dog'],
      ['b', 'Quick quick QUICK: foxes are quick, dogs are lazy'],
      ['c', 'Brown bears and brown dogs'],
      ['d', 'nothing to see'],
      ['e', ''],
    ]);
    for (const [k1, b] of [[1.2, 0.75], [2, 0], [0, 1], [0.5, 0.3]] as const) {
      await db.transaction('write', async (tx) => {
        const ix = await db.newSearchIndex(tx, `p${k1}-${b}`, { k1, b });
        for (const [id, text] of texts) await ix.add(id, text);
        for (const q of ['quick', 'brown dog', 'the the lazy fox', 'QUICK brown', 'missing words', 'dogs dog']) {
          assert.deepEqual(await ix.search(q, { k: 10 }), referenceBm25(texts, q, 10, k1, b), `${q} (k1 ${k1}, b ${b})`);
          assert.deepEqual(await ix.search(q, { k: 2 }), referenceBm25(texts, q, 2, k1, b));
        }
      });
    }
  });

  it('the standard analyzer: lower-cased runs of Unicode letters and digits, no stemming, no stop words (BM25-1)', async () => {
    assert.deepEqual(standardAnalyzer('Straße 123, ÉCOLE! naïve-café x86_64 Ωmega'), ['straße', '123', 'école', 'naïve', 'café', 'x86', '64', 'ωmega']);
    assert.deepEqual(standardAnalyzer('the The THE and'), ['the', 'the', 'the', 'and']);
    assert.deepEqual(standardAnalyzer('日本語 テキスト'), ['日本語', 'テキスト']);
    await db.transaction('write', async (tx) => {
      const ix = await db.newSearchIndex(tx, 'words');
      await ix.add('run', 'running runs');
      await ix.add('the', 'the and of');
      assert.deepEqual(await ix.search('run', { k: 5 }), [], 'no stemming');
      assert.deepEqual((await ix.search('the', { k: 5 })).map((h) => h.id), ['the'], 'no stop words');
      assert.deepEqual((await ix.search('RUNNING', { k: 5 })).map((h) => h.id), ['run'], 'case folded');
    });
  });

  it('a custom analyzer is used for documents and queries, and must be passed again on every open (BM25-5)', async () => {
    const bigrams = (text: string) => {
      const s = text.toLowerCase().replace(/\s+/g, '');
      return Array.from({ length: Math.max(0, s.length - 1) }, (_, i) => s.slice(i, i + 2));
    };
    await db.transaction('write', async (tx) => {
      const ix = await db.newSearchIndex(tx, 'grams', { analyzer: bigrams });
      await ix.add('x', 'hello world');
      await ix.add('y', 'yellow');
      assert.deepEqual(await ix.search('ello', { k: 5 }), referenceBm25(new Map([['x', 'hello world'], ['y', 'yellow']]), 'ello', 5, 1.2, 0.75, bigrams));
    });
    await db.transaction('write', async (tx) => {
      await expectCode(db.openSearchIndex(tx, 'grams'), 'INVALID_ARGUMENT');
      await expectCode(db.newSearchIndex(tx, 'grams'), 'INVALID_ARGUMENT');
      assert.equal((await db.newSearchIndex(tx, 'grams', { analyzer: bigrams })).count, 2);
      await db.newSearchIndex(tx, 'std');
      await expectCode(db.newSearchIndex(tx, 'std', { analyzer: bigrams }), 'INVALID_ARGUMENT');
      const bad = await db.newSearchIndex(tx, 'bad', { analyzer: ((t: string) => (t === 'x' ? [''] : t === 'y' ? 'y' : t === 'nul' ? ['a\u0000b'] : [1])) as never });
      await expectCode(bad.add('1', 'nul'), 'INVALID_ARGUMENT');
      await expectCode(bad.add('1', 'x'), 'INVALID_ARGUMENT');
      await expectCode(bad.add('1', 'y'), 'INVALID_ARGUMENT');
      await expectCode(bad.add('1', 'z'), 'INVALID_ARGUMENT');
      const throwing = await db.newSearchIndex(tx, 'throws', { analyzer: () => { throw new Error('no'); } });
      await expectCode(throwing.add('1', 'x'), 'INVALID_ARGUMENT');
      assert.equal(bad.count + throwing.count, 0);
    });
  });

  it('options: created, opened with the same ones, refused when different; kinds and missing stores (BM25-5)', async () => {
    await db.transaction('write', async (tx) => {
      await db.newSearchIndex(tx, 'wiki', { k1: 2 });
      await db.newVectorStore(tx, 'vecs', { dimensions: 2 });
    });
    await db.transaction('write', async (tx) => {
      await db.newSearchIndex(tx, 'wiki', { k1: 2, b: 0.75 });
      await db.newSearchIndex(tx, 'wiki');
      await db.openSearchIndex(tx, 'wiki');
      await expectCode(db.newSearchIndex(tx, 'wiki', { k1: 1.2 }), 'INVALID_ARGUMENT');
      await expectCode(db.newSearchIndex(tx, 'wiki', { b: 0.5 }), 'INVALID_ARGUMENT');
      await expectCode(db.openSearchIndex(tx, 'missing'), 'STORE_NOT_FOUND');
      await expectCode(db.openSearchIndex(tx, 'vecs'), 'INVALID_ARGUMENT');
      await expectCode(db.newSearchIndex(tx, 'vecs'), 'INVALID_ARGUMENT');
      await expectCode(db.openVectorStore(tx, 'wiki'), 'INVALID_ARGUMENT');
    });
    assert.deepEqual((await db.listStores()).map((s) => [s.name, s.kind]), [['vecs', 'vector'], ['wiki', 'search']]);
  });

  it('bad input is INVALID_ARGUMENT and writes nothing (BM25-4)', async () => {
    const tx = await db.beginTransaction('write');
    for (const options of [5, { k1: -1 }, { k1: NaN }, { k1: Infinity }, { b: 1.5 }, { b: -0.1 }, { analyzer: 'porter' }]) {
      await expectCode(db.newSearchIndex(tx, 'bad', options as never), 'INVALID_ARGUMENT');
    }
    assert.deepEqual(await db.listStores({ parts: true }), []);
    const ix = await db.newSearchIndex(tx, 'wiki');
    await ix.add('ok', 'some text');
    const bad: Array<() => Promise<unknown>> = [
      () => ix.add('x', 42 as never),
      () => ix.add('x', null as never),
      () => ix.add('x', undefined as never),
      () => ix.add('x', { text: 'a' } as never),
      () => ix.add('x', 'lone \ud800 surrogate'),
      () => ix.add('', 'text'),
      () => ix.add(1 as never, 'text'),
      () => ix.add('ok', 7 as never),
      () => ix.remove('' as never),
      () => ix.search(''),
      () => ix.search('   ...!!! '),
      () => ix.search(5 as never),
      () => ix.search('text', { k: 0 }),
      () => ix.search('text', { k: -3 }),
      () => ix.search('text', { k: 2.5 }),
      () => ix.search('text', { k: 'ten' as never }),
      () => ix.search('text', 10 as never),
    ];
    for (const call of bad) await expectCode(call, 'INVALID_ARGUMENT');
    assert.equal(tx.state, 'active');
    assert.equal(ix.count, 1);
    assert.deepEqual((await ix.search('text', { k: 5 })).map((h) => h.id), ['ok']);
    await tx.commit();
    await db.transaction('read', async (r) => {
      const index = await db.openSearchIndex(r, 'wiki');
      assert.equal(index.count, 1);
      assert.deepEqual((await index.verify()).problems, []);
    });
  });

  it('addAll is add for many documents: later ones win on a repeated id; one bad document writes nothing (BM25-3, BM25-4)', async () => {
    const docs = [
      { id: 'a', text: 'alpha beta' },
      { id: 'b', text: 'beta gamma gamma' },
      { id: 'a', text: 'alpha alpha delta' },
      { id: 'c', text: 'the end' },
    ];
    await db.transaction('write', async (tx) => {
      const bulk = await db.newSearchIndex(tx, 'bulk');
      const one = await db.newSearchIndex(tx, 'one');
      await bulk.addAll(docs);
      for (const d of docs) await one.add(d.id, d.text);
      await expectCode(bulk.addAll([{ id: 'd', text: 'fine' }, { id: 'e', text: 5 as never }]), 'INVALID_ARGUMENT');
      await expectCode(bulk.addAll([{ id: '', text: 'x' }]), 'INVALID_ARGUMENT');
      await expectCode(bulk.addAll(null as never), 'INVALID_ARGUMENT');
      await expectCode(bulk.addAll([null] as never), 'INVALID_ARGUMENT');
      assert.equal(bulk.count, 3);
      const latest = new Map(docs.map((d) => [d.id, d.text]));
      for (const q of ['alpha', 'beta gamma', 'delta the', 'fine']) {
        assert.deepEqual(await bulk.search(q, { k: 5 }), referenceBm25(latest, q, 5));
        assert.deepEqual(await bulk.search(q, { k: 5 }), await one.search(q, { k: 5 }));
      }
      assert.deepEqual((await bulk.verify()).problems, []);
    });
  });

  it('an empty text is a document with no terms; search defaults to k = 10 (BM25-3)', async () => {
    await db.transaction('write', async (tx) => {
      const ix = await db.newSearchIndex(tx, 'wiki');
      await ix.add('empty', '');
      for (let i = 0; i < 12; i++) await ix.add(`d${String(i).padStart(2, '0')}`, 'same words');
      assert.equal(ix.count, 13);
      const hits = await ix.search('words');
      assert.equal(hits.length, 10);
      assert.deepEqual(hits.map((h) => h.id), Array.from({ length: 10 }, (_, i) => `d${String(i).padStart(2, '0')}`), 'ties by id');
      assert.deepEqual((await ix.verify()).problems, []);
    });
  });

  it('rollback leaves nothing; other transactions see changes after commit; reopen keeps everything (BM25-2, BM25-3)', async () => {
    const tx = await db.beginTransaction('write');
    const ix = await db.newSearchIndex(tx, 'gone');
    await ix.add('a', 'alpha');
    await tx.rollback();
    assert.deepEqual(await db.listStores({ parts: true }), []);
    await db.transaction('write', async (t) => {
      const wiki = await db.newSearchIndex(t, 'wiki');
      await wiki.add('a', 'alpha beta');
      await wiki.add('b', 'beta gamma');
    });
    const w = await db.beginTransaction('write');
    const wiki = await db.openSearchIndex(w, 'wiki');
    await wiki.add('c', 'alpha alpha alpha');
    await wiki.remove('a');
    await db.transaction('nocheck', async (r) => {
      const other = await db.openSearchIndex(r, 'wiki');
      assert.deepEqual((await other.search('alpha', { k: 5 })).map((h) => h.id), ['a']);
    });
    await w.rollback();
    await db.transaction('read', async (r) => {
      const other = await db.openSearchIndex(r, 'wiki');
      assert.deepEqual((await other.search('alpha', { k: 5 })).map((h) => h.id), ['a']);
      assert.deepEqual((await other.verify()).problems, []);
    });
    const folder = db.folder;
    await db.close();
    db = await Database.open({ folder });
    await db.transaction('read', async (r) => {
      const other = await db.openSearchIndex(r, 'wiki');
      assert.equal(other.count, 2);
      assert.deepEqual(await other.search('beta', { k: 5 }), referenceBm25(new Map([['a', 'alpha beta'], ['b', 'beta gamma']]), 'beta', 5));
    });
  });
});

describe('search index: exact top-k with pruning (BM25-1)', () => {
  const dirs = new TempDirs();
  after(() => dirs.cleanup());

  it('a rare and a common term over many documents: the top k equal the reference for every k', async () => {
    const db = await freshDb(dirs);
    try {
      const docs = new Map<string, string>();
      const words = ['common', 'often', 'rare', 'seldom', 'filler'];
      await db.transaction('write', async (tx) => {
        const ix = await db.newSearchIndex(tx, 'big');
        for (let i = 0; i < 400; i++) {
          const body = [`common ${i % 3 === 0 ? 'often' : ''}`, i % 37 === 0 ? 'rare rare' : '', i % 91 === 0 ? 'seldom' : '', 'filler '.repeat(i % 7)].join(' ');
          docs.set(`doc${i}`, body);
          await ix.add(`doc${i}`, body);
        }
      });
      await db.transaction('read', async (tx) => {
        const ix = await db.openSearchIndex(tx, 'big');
        for (const q of ['rare common', 'common rare often', 'seldom common common', 'often filler rare seldom', words.join(' ')]) {
          for (const k of [1, 2, 5, 10, 50, 400]) assert.deepEqual(await ix.search(q, { k }), referenceBm25(docs, q, k), `${q} k=${k}`);
        }
      });
    } finally {
      await db.close();
    }
  });
});
