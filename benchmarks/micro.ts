/**
 * `npm run bench:micro`: tinybench micro-benchmarks of sop-ts hot paths. Cheap operations run
 * in an inner loop of `inner` calls per sample so timer overhead does not dominate; the table
 * reports the time per single call.
 *
 *   npx tsx benchmarks/micro.ts [--time MS] [--filter SUBSTRING]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { Database, realEnv, SeededRandom } from '../src/index.js';
import type { Item, LeafNode } from '../src/btree/node.js';
import { crc32 } from '../src/codec/crc32.js';
import { makeKeyCompare } from '../src/codec/key-order.js';
import { decodeNode, encodeNode } from '../src/codec/node-codec.js';
import { decodeValue, encodeValue } from '../src/codec/value-codec.js';
import { newHandle } from '../src/registry/handle.js';
import { Registry, type HandleChange } from '../src/registry/registry.js';
import { keyOf, mulberry32 } from './lib/workload.js';

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const time = Number(opt('time') ?? 400);
const filter = opt('filter');

const rand = mulberry32(1);
const ids = new SeededRandom(1);
const bytes = (n: number) => Uint8Array.from({ length: n }, () => (rand() * 256) | 0);

const tmp = mkdtempSync(join(tmpdir(), 'sop-micro-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

// --- fixtures ------------------------------------------------------------------------------

// key compare: 16-byte keys like the peer workload, differing late (the common B-tree case)
const compare = makeKeyCompare({ kind: 'natural' });
const PAIRS = 1000;
const left = Array.from({ length: PAIRS }, (_, i) => keyOf(i * 7919));
const right = Array.from({ length: PAIRS }, (_, i) => keyOf(i * 7919 + 1 + (i % 3)));

// a full 500-item leaf (16-byte string keys, 100-byte inline values)
const leaf: LeafNode = {
  kind: 'leaf',
  id: ids.uuid(),
  items: Array.from({ length: 500 }, (_, i): Item => ({ id: ids.uuid(), key: keyOf(i * 13), version: 1, valueBytes: bytes(100) })),
};
const leafBytes = encodeNode(leaf);

const kib4 = bytes(4096);
const mib1 = bytes(1024 * 1024);

const value100 = bytes(100);
const value100Encoded = encodeValue(value100);
const record = { name: 'Ada Lovelace', age: 36, tags: ['math', 'engines'], joined: new Date(0), score: 12.5 };
const recordEncoded = encodeValue(record);

// registry: 10,000 handles published in one store's registry
const REG_HANDLES = 10_000;
const registry = await Registry.create(realEnv(), tmp, 'micro', 250);
const handleIds = Array.from({ length: REG_HANDLES }, () => ids.uuid());
const changes: HandleChange[] = handleIds.map((id) => ({ id, before: null, after: newHandle(id, ids.uuid(), 0) }));
registry.publish(await registry.write(ids.uuid(), changes, 'commit'));
const regProbe = Array.from({ length: 1000 }, () => handleIds[Math.floor(rand() * REG_HANDLES)]!);

// warm B-tree: 100,000 items committed, then finds in one read transaction
const TREE_ITEMS = 100_000;
const db = await Database.open({ folder: join(tmp, 'db') });
await db.transaction('write', async (tx) => {
  await db.newBtree<string, Uint8Array>(tx, 'kv', { isUnique: true, valueInNode: true });
});
for (let start = 0; start < TREE_ITEMS; start += 5000) {
  await db.transaction('write', async (tx) => {
    const t = await db.openBtree<string, Uint8Array>(tx, 'kv');
    for (let i = start; i < start + 5000; i++) await t.add(keyOf(i), value100);
  });
}
const readTx = await db.beginTransaction('read');
const tree = await db.openBtree<string, Uint8Array>(readTx, 'kv');
const probes = Array.from({ length: 4096 }, () => keyOf(Math.floor(rand() * TREE_ITEMS)));
for (const k of probes) await tree.find(k); // warm the node cache
let probe = 0;

// --- benchmarks ----------------------------------------------------------------------------

interface Case {
  name: string;
  /** Calls of the operation per sample. */
  inner: number;
  fn: () => unknown;
}

let sink = 0;
const cases: Case[] = [
  {
    name: 'key compare (natural, 16-byte strings)',
    inner: PAIRS,
    fn: () => {
      for (let i = 0; i < PAIRS; i++) sink += compare(left[i], right[i]);
    },
  },
  { name: 'node encode (500-item leaf)', inner: 1, fn: () => (sink += encodeNode(leaf).length) },
  { name: 'node decode (500-item leaf)', inner: 1, fn: () => (sink += (decodeNode(leafBytes, leaf.id) as LeafNode).items.length) },
  { name: 'crc32 4 KiB', inner: 1, fn: () => (sink ^= crc32(kib4)) },
  { name: 'crc32 1 MiB', inner: 1, fn: () => (sink ^= crc32(mib1)) },
  {
    name: `btree find (warm, ${TREE_ITEMS / 1000}k items, read tx)`,
    inner: 1,
    fn: async () => {
      if (await tree.find(probes[probe++ & 4095]!)) sink++;
    },
  },
  {
    name: `registry get (${REG_HANDLES / 1000}k handles)`,
    inner: regProbe.length,
    fn: () => {
      for (let i = 0; i < regProbe.length; i++) if (registry.get(regProbe[i]!)) sink++;
    },
  },
  { name: 'value encode (100-byte Uint8Array)', inner: 1, fn: () => (sink += encodeValue(value100).length) },
  { name: 'value decode (100-byte Uint8Array)', inner: 1, fn: () => (sink += (decodeValue(value100Encoded) as Uint8Array).length) },
  { name: 'value encode (small object)', inner: 1, fn: () => (sink += encodeValue(record).length) },
  { name: 'value decode (small object)', inner: 1, fn: () => (sink += decodeValue(recordEncoded) === null ? 0 : 1) },
];

const bench = new Bench({ time, warmupTime: 100, throws: true });
const selected = cases.filter((c) => !filter || c.name.includes(filter));
for (const c of selected) bench.add(c.name, c.fn);
process.stderr.write(`micro: ${selected.length} cases, ${time} ms each...\n`);
await bench.run();

const fmtNs = (ns: number) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(1)} ns`);
const rows = bench.tasks.map((task) => {
  const c = selected.find((x) => x.name === task.name)!;
  const r = task.result;
  if (r.state !== 'completed') return { case: task.name, 'time/op': r.state, 'ops/s': '', '±%': '', samples: '' };
  const nsPerOp = (r.latency.mean * 1e6) / c.inner;
  return {
    case: task.name,
    'time/op': fmtNs(nsPerOp),
    'ops/s': Math.round(1e9 / nsPerOp).toLocaleString('en-US'),
    '±%': (r.latency.rme ?? 0).toFixed(1),
    samples: r.latency.samplesCount ?? '',
  };
});
console.table(rows);
const extra = [
  `node ${process.version}; leaf block ${leafBytes.length} B; 100-byte value encodes to ${value100Encoded.length} B`,
  `rows with an inner loop report per call: key compare ×${PAIRS}, registry get ×${regProbe.length}`,
];
process.stdout.write(extra.join('\n') + '\n');

await readTx.commit();
await db.close();
await registry.close();
if (sink === 0.5) console.log(sink);
