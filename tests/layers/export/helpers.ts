/** Shared fixtures of the export tests: a database with every kind of store, and exact dumps of it. */
import { encodeValue } from '../../../src/codec/value-codec.js';
import type { Database } from '../../../src/index.js';
import { hostOf } from '../../../src/layers/export/import.js';
import { storeOptionsOf } from '../../../src/layers/export/store-options.js';
import { pattern, streamIn } from '../stream/helpers.js';

/** Keys of every type the codec supports, for a natural-order store. */
export const KEYS: unknown[] = [false, true, -1.5, -0.25, 0, 7, 2n ** 64n, 'a', 'é', '', new Date(0), new Date(-1e12), Uint8Array.of(), Uint8Array.of(0, 255), [1, 'x'], [[]], { a: 1 }, { b: [2n, true] }];
/** Values of every type the codec supports. */
export const VALUES: unknown[] = [undefined, null, true, -0, NaN, Infinity, 3, 'text', 10n ** 40n, new Date(5), Uint8Array.of(9, 8), [undefined, { x: 1 }], Object.assign(Object.create(null) as object, { n: 1 }), JSON.parse('{"__proto__":1,"$t":"date"}') as object];

/** Fills `db` with a store of every kind: plain B-trees of every option, a stream store, a model registry, a vector store, a search index, an empty store. */
export async function fillEveryKind(db: Database): Promise<void> {
  await db.transaction('write', async (tx) => {
    const natural = await db.newBtree(tx, 'natural', { slotLength: 4 });
    for (const [i, k] of KEYS.entries()) await natural.add(k, VALUES[i % VALUES.length]);
    const blobs = await db.newBtree(tx, 'blobs', { valueInNode: false, description: 'values in their own blobs' });
    for (const [i, v] of VALUES.entries()) await blobs.add(i, v);
    const fields = await db.newBtree(tx, 'fields', { keyOrder: [{ field: 'last' }, { field: 'age', order: 'desc' }], slotLength: 6 });
    for (let i = 0; i < 20; i++) await fields.add({ last: `n${i % 4}`, age: i, extra: i * 2 }, i);
    const dups = await db.newBtree(tx, 'dups', { isUnique: false });
    for (let i = 0; i < 12; i++) await dups.add(i % 3, `v${i}`);
    await db.newBtree(tx, 'empty');
    const media = await db.newStreamStore(tx, 'media', { chunkSize: 1000 });
    await streamIn(media, 'movie.mp4', pattern(4500, 1));
    await streamIn(media, 'empty', new Uint8Array(0));
    await media.write('partial', 0, pattern(10, 2));
    const models = await db.newModelRegistry(tx, 'models');
    for (const v of ['1.0.0', '1.1.0-rc.1', '1.1.0', '2.0.0-beta']) await models.put('clf', v, { v, weights: pattern(64, v.length) });
    const docs = await db.newVectorStore(tx, 'docs', { dimensions: 3, metric: 'l2' });
    for (let i = 0; i < 12; i++) await docs.upsert(`d${i}`, [i, i % 3, -i / 2], { i, lang: i % 2 ? 'en' : 'fr' });
    const wiki = await db.newSearchIndex(tx, 'wiki', { k1: 1.2, b: 0.75 });
    for (const [id, text] of [['p1', 'streams of chunks'], ['p2', 'model registry with semver versions'], ['p3', 'export every store of every kind']]) await wiki.add(id!, text!);
  });
}

/**
 * Everything that makes a database what it is, exactly: per store (parts included) its kind,
 * part, layer options, B-tree options, and items as codec bytes (in key order; for non-unique
 * stores the items of one key as a sorted multiset, since their order follows item ids).
 */
export async function dump(db: Database): Promise<Record<string, unknown>> {
  const host = hostOf(db);
  const out: Record<string, unknown> = {};
  for (const s of await host.allStores()) {
    const options = await storeOptionsOf(host, s.name);
    const items = await db.transaction('read', async (tx) => {
      const tree = await host.openAny(tx, s.name);
      const rows: string[] = [];
      for await (const [k, v] of tree.range()) rows.push(`${hex(encodeValue(k))}=${hex(encodeValue(v))}`);
      return options.isUnique ? rows : rows.sort();
    });
    out[s.name] = { kind: s.kind, part: s.part ?? null, layer: s.layer ?? null, options, items };
  }
  return out;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
