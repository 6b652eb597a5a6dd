/**
 * `npm run bench:search`: the BM25 index beside minisearch and wink-bm25-text-search on a real
 * corpus — the English man pages on this machine (/usr/share/man/man1..8, roff markup stripped)
 * — index/s (sop-ts: addAll in transactions of --batch documents), queries/s (sop-ts: one read
 * transaction per query) and top-10 agreement with the reference BM25 (search-reference.ts). Every engine gets the same tokens (lower-cased runs of
 * letters and digits) and k1 1.2, b 0.75 where it has them, so agreement measures ranking alone.
 * Queries: 1..3 words drawn from random documents (seeded). Peers are installed on first use.
 *
 *   npx tsx benchmarks/layers/search.ts [--docs N] [--queries 1000] [--seed 1] [--batch 500]
 *     [--peers sop-ts,minisearch,wink] [--journal] [--no-install] [--json FILE]
 */
import { readFileSync, readdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Database } from '../../src/index.js';
import { type Ranked, ReferenceBm25, referenceTokens, sameTopK } from './search-reference.js';
import { loadPeers, peerVersion } from './vector-peers.js';

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const MAX_DOCS = Number(flag('docs', '1000000'));
const Q = Number(flag('queries', '1000'));
const SEED = Number(flag('seed', '1'));
const BATCH = Number(flag('batch', '500'));
const PEERS = flag('peers', 'sop-ts,minisearch,wink').split(',');
const JOURNAL = argv.includes('--journal');
const K = 10;
const log = (m: string) => process.stderr.write(`${m}\n`);

// ---------------------------------------------------------------------------------------------
// Corpus and queries

/** roff to plain text, roughly: comments out, request names out, font and character escapes out. */
function plain(roff: string): string {
  return roff
    .split('\n')
    .filter((line) => !/^[.']\s*\\"/.test(line))
    .map((line) => (/^[.']/.test(line) ? line.replace(/^[.']\s*\S+\s?/, '') : line))
    .join('\n')
    .replace(/\\f(\[[^\]]*\]|\(..|.)/g, '')
    .replace(/\\\((..)/g, ' ')
    .replace(/\\\*(\[[^\]]*\]|\(..|.)/g, ' ')
    .replace(/\\[-e&|^,/%]/g, (m) => (m === '\\-' ? '-' : ' '));
}

function corpus(): Array<{ id: string; text: string }> {
  const docs: Array<{ id: string; text: string }> = [];
  for (let section = 1; section <= 8; section++) {
    const dir = `/usr/share/man/man${section}`;
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.gz')).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      if (docs.length >= MAX_DOCS) return docs;
      let text: string;
      try {
        text = plain(gunzipSync(readFileSync(join(dir, name))).toString('utf8'));
      } catch {
        continue;
      }
      if (referenceTokens(text).length < 20) continue; // `.so` redirections and stubs
      docs.push({ id: `man${section}/${name.slice(0, -3)}`, text });
    }
  }
  return docs;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function queries(docs: Array<{ text: string }>): string[] {
  const rand = mulberry32(SEED);
  return Array.from({ length: Q }, () => {
    const words = referenceTokens(docs[Math.floor(rand() * docs.length)]!.text);
    return Array.from({ length: 1 + Math.floor(rand() * 3) }, () => words[Math.floor(rand() * words.length)]!).join(' ');
  });
}

// ---------------------------------------------------------------------------------------------
// Engines

interface Engine {
  name: string;
  version: string;
  indexSeconds: number;
  search: (q: string) => Promise<string[]> | string[];
  close?: () => Promise<void>;
}

async function sopTs(docs: Array<{ id: string; text: string }>): Promise<Engine> {
  const folder = mkdtempSync(join(tmpdir(), 'sop-bench-search-'));
  const db = await Database.open({ folder, ...(JOURNAL ? { journal: true } : {}) });
  const t0 = performance.now();
  await db.transaction('write', async (tx) => void (await db.newSearchIndex(tx, 'man')));
  for (let start = 0; start < docs.length; start += BATCH) {
    await db.transaction('write', async (tx) => {
      const ix = await db.openSearchIndex(tx, 'man');
      await ix.addAll(docs.slice(start, start + BATCH));
    });
    if ((start / BATCH) % 5 === 4) log(`  sop-ts: ${start + BATCH} documents, ${((start + BATCH) / ((performance.now() - t0) / 1000)).toFixed(0)}/s`);
  }
  const indexSeconds = (performance.now() - t0) / 1000;
  return {
    name: JOURNAL ? 'sop-ts (journal)' : 'sop-ts',
    version: 'this tree',
    indexSeconds,
    search: (q) => db.transaction('read', async (tx) => (await (await db.openSearchIndex(tx, 'man')).search(q, { k: K })).map((h) => h.id)),
    close: async () => {
      await db.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

interface MiniSearchLib {
  new (options: Record<string, unknown>): { addAll(docs: unknown[]): void; search(q: string): Array<{ id: string }> };
}

function minisearch(Lib: MiniSearchLib, docs: Array<{ id: string; text: string }>): Engine {
  const t0 = performance.now();
  const index = new Lib({
    fields: ['text'],
    tokenize: referenceTokens,
    processTerm: (t: string) => t,
    searchOptions: { combineWith: 'OR', bm25: { k: 1.2, b: 0.75, d: 0 } },
  });
  index.addAll(docs);
  return { name: 'minisearch', version: peerVersion('minisearch'), indexSeconds: (performance.now() - t0) / 1000, search: (q) => index.search(q).slice(0, K).map((r) => r.id) };
}

type WinkLib = () => {
  defineConfig(c: Record<string, unknown>): void;
  definePrepTasks(tasks: Array<(x: unknown) => unknown>): void;
  addDoc(doc: Record<string, string>, id: string): void;
  consolidate(precision?: number): void;
  search(q: string, limit?: number): Array<[string, number]>;
};

function wink(lib: WinkLib, docs: Array<{ id: string; text: string }>): Engine {
  const t0 = performance.now();
  const engine = lib();
  engine.defineConfig({ fldWeights: { text: 1 }, bm25Params: { k1: 1.2, b: 0.75, k: 1 } });
  engine.definePrepTasks([(text) => referenceTokens(text as string)]);
  for (const d of docs) engine.addDoc({ text: d.text }, d.id);
  engine.consolidate(8);
  return { name: 'wink-bm25-text-search', version: peerVersion('wink-bm25-text-search'), indexSeconds: (performance.now() - t0) / 1000, search: (q) => engine.search(q, K).map(([id]) => id) };
}

// ---------------------------------------------------------------------------------------------

interface Row {
  engine: string;
  version: string;
  indexPerSec: number;
  mbPerSec: number;
  qps: number;
  equal: number;
  overlap: number;
}

async function measure(engine: Engine, qs: string[], truth: Ranked[][], docCount: number, mb: number): Promise<Row> {
  const found: string[][] = [];
  await engine.search(qs[0]!); // warm-up
  const t0 = performance.now();
  for (const q of qs) found.push(await engine.search(q));
  const qps = qs.length / ((performance.now() - t0) / 1000);
  let equal = 0;
  let overlap = 0;
  found.forEach((top, i) => {
    if (sameTopK(top, truth[i]!, K)) equal++;
    const expected = new Set(truth[i]!.slice(0, K).map((r) => r.id));
    overlap += expected.size === 0 ? 1 : top.filter((id) => expected.has(id)).length / expected.size;
  });
  const row = { engine: engine.name, version: engine.version, indexPerSec: docCount / engine.indexSeconds, mbPerSec: mb / engine.indexSeconds, qps, equal: equal / qs.length, overlap: overlap / qs.length };
  log(`  ${engine.name}: ${row.indexPerSec.toFixed(0)} docs/s, ${qps.toFixed(0)} q/s, top-10 equal ${(100 * row.equal).toFixed(1)}%, overlap ${(100 * row.overlap).toFixed(1)}%`);
  await engine.close?.();
  return row;
}

const meta = { queries: Q, seed: SEED, batch: BATCH, journal: JOURNAL, cpu: cpus()[0]?.model ?? '?', cores: cpus().length, node: process.version, loadStart: loadavg().map((x) => x.toFixed(1)) };
const docs = corpus();
const mb = docs.reduce((s, d) => s + Buffer.byteLength(d.text), 0) / 2 ** 20;
const terms = docs.reduce((s, d) => s + referenceTokens(d.text).length, 0);
log(`bench:search: ${docs.length} man pages, ${mb.toFixed(1)} MiB of text, ${terms} terms; ${Q} queries, k ${K}, seed ${SEED}; ${meta.cpu}, load ${meta.loadStart.join(' ')}`);
const qs = queries(docs);
const reference = new ReferenceBm25();
for (const d of docs) reference.add(d.id, d.text);
// Only what agreement needs: the top k and whatever ties the k-th (a full ranking per query would fill the heap).
const truth = qs.map((q) => {
  const ranked = reference.rank(q);
  const kth = ranked[Math.min(K, ranked.length) - 1]?.score ?? 0;
  return ranked.filter((r, i) => i < K || Math.abs(r.score - kth) <= 1e-9 * Math.max(1, Math.abs(kth)));
});
const peers = loadPeers(PEERS.filter((p) => p === 'minisearch' || p === 'wink').map((p) => (p === 'wink' ? 'wink-bm25-text-search' : p)), !argv.includes('--no-install'));
const rows: Row[] = [];
if (PEERS.includes('sop-ts')) rows.push(await measure(await sopTs(docs), qs, truth, docs.length, mb));
if (peers.has('minisearch')) {
  const lib = peers.get('minisearch') as MiniSearchLib | { default: MiniSearchLib };
  rows.push(await measure(minisearch('default' in lib ? lib.default : lib, docs), qs, truth, docs.length, mb));
}
if (peers.has('wink-bm25-text-search')) rows.push(await measure(wink(peers.get('wink-bm25-text-search') as WinkLib, docs), qs, truth, docs.length, mb));
const loadEnd = loadavg().map((x) => x.toFixed(1));

const lines = [
  `### Text: ${docs.length.toLocaleString('en')} man pages (${mb.toFixed(1)} MiB, ${terms.toLocaleString('en')} terms), ${Q} queries, k = ${K}`,
  '',
  `${meta.cpu} (${meta.cores} cores, shared), node ${meta.node}, load ${meta.loadStart.join(' ')} → ${loadEnd.join(' ')}; seed ${SEED}.`,
  '',
  '| engine | version | index docs/s | index MiB/s | queries/s | top-10 = reference | top-10 overlap |',
  '|---|---|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.engine} | ${r.version} | ${r.indexPerSec.toFixed(0)} | ${r.mbPerSec.toFixed(2)} | ${r.qps.toFixed(0)} | ${(100 * r.equal).toFixed(1)}% | ${(100 * r.overlap).toFixed(1)}% |`),
];
process.stdout.write(`${lines.join('\n')}\n`);
const json = flag('json', '');
if (json) writeFileSync(json, JSON.stringify({ meta: { ...meta, docs: docs.length, mb, terms, loadEnd }, rows }, null, 2));
