import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { BNode, Item } from '../../src/btree/node.js';
import { applyLeafItemPatch, decodeNode, encodeNode, leafItemPatch, noteItemsCopy } from '../../src/codec/node-codec.js';
import { appendItems, cutItems, insertItem, originsOf, removeItem, replaceItem, trackCopy } from '../../src/btree/leaf-edits.js';
import { BlockKind, FRAME_HEADER_SIZE, encodeFrame } from '../../src/codec/frame.js';
import { encodeValue } from '../../src/codec/value-codec.js';
import { expectCode, returnsOrCorrupt, uuidArb } from './helpers.js';

const keyArb = fc.oneof(fc.integer(), fc.string(), fc.array(fc.integer(), { maxLength: 3 }), fc.bigInt());

const itemArb: fc.Arbitrary<Item> = fc.oneof(
  fc.record({ id: uuidArb, key: keyArb, version: fc.nat(), valueBytes: fc.uint8Array({ maxLength: 24 }) }, { noNullPrototype: true }),
  fc.record({ id: uuidArb, key: keyArb, version: fc.maxSafeNat(), valueBlobId: uuidArb }, { noNullPrototype: true }),
);

const leafArb: fc.Arbitrary<BNode> = fc.record({
  kind: fc.constant('leaf' as const),
  id: uuidArb,
  items: fc.array(itemArb, { maxLength: 8 }),
}, { noNullPrototype: true });

const internalArb: fc.Arbitrary<BNode> = fc
  .tuple(uuidArb, fc.array(fc.record({ key: keyArb, id: uuidArb }, { noNullPrototype: true }), { maxLength: 8 }), fc.array(uuidArb, { minLength: 9, maxLength: 9 }))
  .map(([id, keys, ids]) => ({ kind: 'internal' as const, id, keys, children: ids.slice(0, keys.length + 1) }));

const nodeArb = fc.oneof(leafArb, internalArb);

const ID = '11111111-2222-4333-8444-555555555555';
const OTHER = '99999999-2222-4333-8444-555555555555';

describe('codec/node-codec', () => {
  it('round-trips random nodes', () => {
    fc.assert(
      fc.property(nodeArb, (node) => {
        assert.deepStrictEqual(decodeNode(encodeNode(node), node.id), node);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips the edge shapes', () => {
    const empty: BNode = { kind: 'leaf', id: ID, items: [] };
    assert.deepStrictEqual(decodeNode(encodeNode(empty), ID), empty);
    const single: BNode = { kind: 'internal', id: ID, keys: [], children: [OTHER] };
    assert.deepStrictEqual(decodeNode(encodeNode(single), ID), single);
    const undef: BNode = { kind: 'leaf', id: ID, items: [{ id: OTHER, key: 1, version: 1, valueBytes: encodeValue(undefined) }] };
    assert.deepStrictEqual(decodeNode(encodeNode(undef), ID), undef);
    const bare: BNode = { kind: 'leaf', id: ID, items: [{ id: OTHER, key: 1, version: 1 }] };
    assert.deepStrictEqual(decodeNode(encodeNode(bare), ID), undef, 'an item without value bytes stores undefined');
  });

  it('checks the node id', () => {
    const block = encodeNode({ kind: 'leaf', id: ID, items: [] });
    expectCode(() => decodeNode(block, OTHER), 'CORRUPT', /node id mismatch/);
  });

  it('rejects blocks of another kind', () => {
    const block = encodeNode({ kind: 'leaf', id: ID, items: [] });
    const asValue = encodeFrame(BlockKind.Value, block.subarray(FRAME_HEADER_SIZE));
    expectCode(() => decodeNode(asValue, ID), 'CORRUPT', /expected a Node block/);
  });

  it('rejects inconsistent counts inside a valid frame', () => {
    const good = encodeNode({ kind: 'internal', id: ID, keys: [{ key: 1, id: OTHER }], children: [ID, OTHER] });
    const payload = good.slice(FRAME_HEADER_SIZE);
    // Layout: kind, id(16), sep count, key(Int tag + varint = 2 bytes), sep id(16), child count...
    const childCountAt = 1 + 16 + 1 + 2 + 16;
    assert.equal(payload[childCountAt], 2);
    payload[childCountAt] = 3;
    expectCode(() => decodeNode(encodeFrame(BlockKind.Node, payload), ID), 'CORRUPT', /1 separators but 3 children/);
    payload[childCountAt] = 0;
    expectCode(() => decodeNode(encodeFrame(BlockKind.Node, payload), ID), 'CORRUPT', /children/);
    const hugeCount = good.slice(FRAME_HEADER_SIZE);
    hugeCount[17] = 0x7f;
    expectCode(() => decodeNode(encodeFrame(BlockKind.Node, hugeCount), ID), 'CORRUPT', /count 127/);
    const badKind = good.slice(FRAME_HEADER_SIZE);
    badKind[0] = 3;
    expectCode(() => decodeNode(encodeFrame(BlockKind.Node, badKind), ID), 'CORRUPT', /unknown node kind/);
  });

  it('rejects unencodable nodes with INVALID_ARGUMENT', () => {
    expectCode(() => encodeNode({ kind: 'internal', id: ID, keys: [], children: [] }), 'INVALID_ARGUMENT', /0 separators but 0 children/);
    expectCode(() => encodeNode({ kind: 'leaf', id: 'nope', items: [] }), 'INVALID_ARGUMENT', /UUID/);
    expectCode(
      () => encodeNode({ kind: 'leaf', id: ID, items: [{ id: OTHER, key: { f: () => 1 }, version: 1 }] }),
      'INVALID_ARGUMENT',
      /items\[0\]\.key\.f is a function/,
    );
    expectCode(
      () => encodeNode({ kind: 'leaf', id: ID, items: [{ id: OTHER, key: 1, version: 1, valueBytes: encodeValue(2), valueBlobId: OTHER }] }),
      'INVALID_ARGUMENT',
      /both/,
    );
    expectCode(() => encodeNode({ kind: 'leaf', id: ID, items: [{ id: OTHER, key: 1, version: -1 }] }), 'INVALID_ARGUMENT');
  });

  it('random corruption of a payload inside a valid frame is CORRUPT only', () => {
    fc.assert(
      fc.property(nodeArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(), (node, edits, cut) => {
        const payload = encodeNode(node).slice(FRAME_HEADER_SIZE);
        for (const [at, byte] of edits) payload[at % payload.length] = byte;
        returnsOrCorrupt(() => decodeNode(encodeFrame(BlockKind.Node, payload), node.id));
        const short = payload.subarray(0, cut % (payload.length + 1));
        returnsOrCorrupt(() => decodeNode(encodeFrame(BlockKind.Node, short), node.id));
      }),
      { numRuns: 2000 },
    );
  });

  it('random damage to the whole block is always CORRUPT', () => {
    fc.assert(
      fc.property(nodeArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (node, at, xor) => {
        const block = encodeNode(node);
        block[at % block.length]! ^= xor;
        expectCode(() => decodeNode(block, node.id), 'CORRUPT');
      }),
      { numRuns: 1000 },
    );
  });

  it('an item patch (journal mode, JNL-1) rebuilds exactly the block the changed leaf encodes to, from its base block', () => {
    const edit = fc.record({ at: fc.nat(), remove: fc.boolean(), add: fc.option(itemArb, { nil: undefined }) }, { noNullPrototype: true });
    fc.assert(
      fc.property(uuidArb, fc.array(itemArb, { maxLength: 12 }), fc.array(edit, { maxLength: 6 }), (id, baseItems, edits) => {
        const base = Object.freeze([...baseItems]);
        const items = [...base];
        noteItemsCopy(items, base);
        for (const e of edits) {
          const at = items.length === 0 ? 0 : e.at % items.length;
          if (e.remove && items.length > 0) items.splice(at, 1);
          if (e.add) items.splice(at, 0, e.add);
        }
        const leaf = { kind: 'leaf' as const, id, items };
        const patch = leafItemPatch(leaf);
        assert.ok(patch, 'a copied leaf has an item patch');
        assert.equal(patch.base, base);
        const baseBlock = encodeNode({ kind: 'leaf', id, items: [...base] });
        const rebuilt = applyLeafItemPatch(decodeNode(baseBlock, id), patch.ops, patch.bytes, 'test');
        assert.deepStrictEqual(encodeNode(rebuilt), encodeNode({ kind: 'leaf', id, items: [...items] }));
        // Unchanged items are copied, not logged: the patch's bytes are only the new items'.
        const fresh = items.filter((item) => !base.includes(item));
        const literal = fresh.length === 0 ? 0 : encodeNode({ kind: 'leaf', id, items: fresh }).length - encodeNode({ kind: 'leaf', id, items: [] }).length;
        assert.ok(patch.bytes.length <= literal, `patch bytes ${patch.bytes.length} > new items ${literal}`);
      }),
      { numRuns: 500 },
    );
  });

  it('an item patch stays compact when a long range of a big leaf was removed (the base is indexed after a few misses)', () => {
    const item = (i: number): Item => ({ id: `${String(i).padStart(8, '0')}-2222-4333-8444-555555555555`, key: i, version: 1, valueBytes: encodeValue(new Uint8Array(50).fill(i)) });
    fc.assert(
      fc.property(fc.nat(79), fc.nat(70), fc.nat(5), (from, length, added) => {
        const base = Object.freeze(Array.from({ length: 80 }, (_, i) => item(i)));
        const items = [...base];
        noteItemsCopy(items, base);
        items.splice(from, length, ...Array.from({ length: added }, (_, i) => item(1000 + i)));
        const patch = leafItemPatch({ kind: 'leaf', id: ID, items })!;
        const rebuilt = applyLeafItemPatch(decodeNode(encodeNode({ kind: 'leaf', id: ID, items: [...base] }), ID), patch.ops, patch.bytes, 'test');
        assert.deepStrictEqual(encodeNode(rebuilt), encodeNode({ kind: 'leaf', id: ID, items: [...items] }));
        // Each item encodes to ~91 bytes; up to 4 unchanged ones may be logged before the index is built.
        assert.ok(patch.bytes.length <= (added + 4) * 100, `${patch.bytes.length} bytes logged for ${added} new items`);
      }),
      { numRuns: 300 },
    );
  });

  it('a copy edited through leaf-edits knows where each item came from, and its patch rebuilds it (JNL-1, property)', () => {
    const item = (i: number): Item => ({ id: `${String(i).padStart(8, '0')}-2222-4333-8444-555555555555`, key: i, version: 1, valueBytes: encodeValue(i) });
    const edit = fc.oneof(
      fc.tuple(fc.constant('insert'), fc.nat(), fc.nat()),
      fc.tuple(fc.constant('replace'), fc.nat(), fc.nat()),
      fc.tuple(fc.constant('remove'), fc.nat(), fc.nat()),
      fc.tuple(fc.constant('cut'), fc.nat(), fc.nat()),
      fc.tuple(fc.constant('append'), fc.nat(), fc.integer({ min: 0, max: 5 })),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.array(edit, { maxLength: 12 }), (size, edits) => {
        const base = Object.freeze(Array.from({ length: size }, (_, i) => item(i)));
        const items = [...base];
        noteItemsCopy(items, base);
        trackCopy(items, base);
        let next = 1000;
        for (const [kind, at, n] of edits) {
          const i = items.length === 0 ? 0 : at % (items.length + (kind === 'insert' ? 1 : 0));
          if (kind === 'insert') insertItem(items, i, item(next++));
          else if (kind === 'append') appendItems(items, Array.from({ length: n }, () => item(next++)));
          else if (items.length === 0) continue;
          else if (kind === 'replace') replaceItem(items, i, item(next++));
          else if (kind === 'remove') removeItem(items, i);
          else cutItems(items, i);
        }
        // The origins are what an identity search finds (every item of the copy is either the base's, at that index, or new).
        assert.deepEqual([...originsOf(items)!], items.map((x) => base.indexOf(x)));
        const patch = leafItemPatch({ kind: 'leaf', id: ID, items })!;
        const rebuilt = applyLeafItemPatch(decodeNode(encodeNode({ kind: 'leaf', id: ID, items: [...base] }), ID), patch.ops, patch.bytes, 'test');
        assert.deepStrictEqual(encodeNode(rebuilt), encodeNode({ kind: 'leaf', id: ID, items: [...items] }));
      }),
      { numRuns: 1000 },
    );
  });

  it('an item patch that does not fit its base is CORRUPT, not a wrong leaf', () => {
    const item = (i: number): Item => ({ id: `${String(i).padStart(8, '0')}-2222-4333-8444-555555555555`, key: i, version: 1, valueBytes: encodeValue(i) });
    const base = decodeNode(encodeNode({ kind: 'leaf', id: ID, items: [item(1), item(2)] }), ID);
    expectCode(() => applyLeafItemPatch(base, [0, 3], new Uint8Array(0), 'test'), 'CORRUPT', /copies items 0..3 of 2/);
    expectCode(() => applyLeafItemPatch(base, [-1, 1], new Uint8Array(3), 'test'), 'CORRUPT');
    const internal = decodeNode(encodeNode({ kind: 'internal', id: ID, keys: [{ key: 1, id: OTHER }], children: [ID, OTHER] }), ID);
    expectCode(() => applyLeafItemPatch(internal, [], new Uint8Array(0), 'test'), 'CORRUPT', /not a leaf/);
  });
});
