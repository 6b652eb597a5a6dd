/**
 * `npm run bench:vector`: the vector store beside the peers a Node user would pick — hnswlib-node
 * (HNSW, native), usearch (HNSW, native) and a brute-force scan in JS — on seeded clustered data:
 * insert/s, and recall@10 against exact neighbours with queries/s, for a sweep of each one's
 * search knob (nprobe; ef; expansion). Peers are installed on first use (vector-peers.ts).
 * Single-threaded everywhere (usearch gets threads = 1). Prints markdown tables (stdout) and
 * writes the raw figures as JSON.
 *
 *   npx tsx benchmarks/layers/vector.ts [--n 100000] [--d 128] [--queries 500] [--clusters 100]
 *     [--sigma 1] [--seed 1] [--batch 1000] [--peers sop-ts,hnswlib-node,usearch,brute-force]
 *     [--journal] [--no-install] [--json FILE]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../../src/index.js';
import { loadPeers, peerVersion } from './vector-peers.js';

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const N = Number(flag('n', '100000'));
const D = Number(flag('d', '128'));
const Q = Number(flag('queries', '500'));
const CLUSTERS = Number(flag('clusters', '100'));
const SIGMA = Number(flag('sigma', '1'));
const SEED = Number(flag('seed', '1'));
const BATCH = Number(flag('batch', '1000'));
const PEERS = flag('peers', 'sop-ts,hnswlib-node,usearch,brute-force').split(',');
const JOURNAL = argv.includes('--journal');
const K = 10;
const log = (m: string) => process.stderr.write(`${m}\n`);

interface Point {
  knob: string;
  recall: number;
  qps: number;
}

interface Result {
  peer: string;
  version: string;
  insertPerSec: number;
  buildSeconds: number;
  extra?: string;
  points: Point[];
}

// ---------------------------------------------------------------------------------------------
// Data: CLUSTERS centres uniform in [-1, 1]^D, points = centre + N(0, SIGMA²) per component.

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

function dataset(seed: number, n: number, centres: Float32Array): Float32Array {
  const rand = mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rand() * CLUSTERS);
    for (let j = 0; j < D; j++) out[i * D + j] = centres[c * D + j]! + SIGMA * gauss();
  }
  return out;
}

const centreRand = mulberry32(SEED);
const centres = Float32Array.from({ length: CLUSTERS * D }, () => centreRand() * 2 - 1);
const base = dataset(SEED + 1, N, centres);
const queries = dataset(SEED + 2, Q, centres);
const row = (m: Float32Array, i: number) => m.subarray(i * D, (i + 1) * D);

/** Exact neighbours (squared L2 in float64, ties by index) and the brute-force scan's speed. */
function bruteForce(): { truth: number[][]; qps: number } {
  const truth: number[][] = [];
  const t0 = performance.now();
  for (let q = 0; q < Q; q++) {
    const best: Array<[number, number]> = [];
    for (let i = 0; i < N; i++) {
      let s = 0;
      for (let j = 0; j < D; j++) {
        const x = queries[q * D + j]! - base[i * D + j]!;
        s += x * x;
      }
      if (best.length < K || s < best[best.length - 1]![0]) {
        best.push([s, i]);
        best.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        if (best.length > K) best.pop();
      }
    }
    truth.push(best.map(([, i]) => i));
  }
  return { truth, qps: Q / ((performance.now() - t0) / 1000) };
}

function recall(found: number[][], truth: number[][]): number {
  let hit = 0;
  for (let q = 0; q < truth.length; q++) {
    const t = new Set(truth[q]);
    for (const i of found[q]!.slice(0, K)) if (t.has(i)) hit++;
  }
  return hit / (truth.length * K);
}

function timeQueries(search: (q: Float32Array) => number[]): { found: number[][]; qps: number } {
  const found: number[][] = [];
  const t0 = performance.now();
  for (let q = 0; q < Q; q++) found.push(search(row(queries, q)));
  return { found, qps: Q / ((performance.now() - t0) / 1000) };
}

async function timeQueriesAsync(search: (q: Float32Array) => Promise<number[]>): Promise<{ found: number[][]; qps: number }> {
  const found: number[][] = [];
  const t0 = performance.now();
  for (let q = 0; q < Q; q++) found.push(await search(row(queries, q)));
  return { found, qps: Q / ((performance.now() - t0) / 1000) };
}

// ---------------------------------------------------------------------------------------------
// Peers

async function sopTs(truth: number[][]): Promise<Result> {
  const folder = mkdtempSync(join(tmpdir(), 'sop-bench-vector-'));
  const db = await Database.open({ folder, ...(JOURNAL ? { journal: true } : {}) });
  try {
    const t0 = performance.now();
    await db.transaction('write', async (tx) => void (await db.newVectorStore(tx, 'vecs', { dimensions: D, metric: 'l2' })));
    for (let start = 0; start < N; start += BATCH) {
      await db.transaction('write', async (tx) => {
        const vs = await db.openVectorStore(tx, 'vecs');
        for (let i = start; i < Math.min(N, start + BATCH); i++) await vs.upsert(String(i), row(base, i));
      });
      if ((start / BATCH) % 10 === 9) log(`  sop-ts: ${start + BATCH} inserted, ${((start + BATCH) / ((performance.now() - t0) / 1000)).toFixed(0)}/s`);
    }
    const insertSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const info = await db.transaction('write', async (tx) => {
      const vs = await db.openVectorStore(tx, 'vecs');
      await vs.optimize();
      return vs.info();
    });
    const buildSeconds = (performance.now() - t1) / 1000;
    log(`  sop-ts: ${N} vectors in ${insertSeconds.toFixed(1)} s; optimize ${buildSeconds.toFixed(1)} s: version ${info.version}, ${info.lists} lists`);
    const points: Point[] = [];
    const lists = info.lists;
    const sweep = [...new Set([1, 2, 4, 8, 16, 24, 32, 48, 64, Math.ceil(lists / 4)].filter((p) => p <= lists))].sort((a, b) => a - b);
    const run = (nprobe: number | undefined) => timeQueriesAsync((q) => db.transaction('read', async (tx) => (await (await db.openVectorStore(tx, 'vecs')).query(q, { k: K, ...(nprobe ? { nprobe } : {}) })).map((h) => Number(h.id))));
    const cold = await run(undefined);
    log(`  sop-ts: default nprobe, cold cache: recall ${recall(cold.found, truth).toFixed(3)}, ${cold.qps.toFixed(0)} q/s`);
    for (const nprobe of [undefined, ...sweep]) {
      const r = await run(nprobe);
      points.push({ knob: nprobe === undefined ? 'nprobe default' : `nprobe ${nprobe}`, recall: recall(r.found, truth), qps: r.qps });
      log(`  sop-ts: ${points[points.length - 1]!.knob}: recall ${points[points.length - 1]!.recall.toFixed(3)}, ${r.qps.toFixed(0)} q/s`);
    }
    return { peer: JOURNAL ? 'sop-ts (journal)' : 'sop-ts', version: 'this tree', insertPerSec: N / insertSeconds, buildSeconds, extra: `${lists} lists; cold cache ${cold.qps.toFixed(0)} q/s`, points };
  } finally {
    await db.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

interface HnswLib {
  HierarchicalNSW: new (space: string, dim: number) => {
    initIndex(max: number, m?: number, efConstruction?: number, seed?: number): void;
    addPoint(point: Float32Array | number[], label: number): void;
    setEf(ef: number): void;
    searchKnn(q: Float32Array | number[], k: number): { neighbors: number[] };
  };
}

function hnswlib(lib: HnswLib, truth: number[][]): Result {
  const index = new lib.HierarchicalNSW('l2', D);
  const t0 = performance.now();
  index.initIndex(N, 16, 200, SEED);
  for (let i = 0; i < N; i++) index.addPoint(Array.from(row(base, i)), i);
  const seconds = (performance.now() - t0) / 1000;
  log(`  hnswlib-node: ${N} in ${seconds.toFixed(1)} s`);
  const points: Point[] = [];
  for (const ef of [10, 16, 32, 64, 128]) {
    index.setEf(ef);
    const r = timeQueries((q) => index.searchKnn(Array.from(q), K).neighbors);
    points.push({ knob: `ef ${ef}`, recall: recall(r.found, truth), qps: r.qps });
    log(`  hnswlib-node: ef ${ef}: recall ${points[points.length - 1]!.recall.toFixed(3)}, ${r.qps.toFixed(0)} q/s`);
  }
  return { peer: 'hnswlib-node', version: peerVersion('hnswlib-node'), insertPerSec: N / seconds, buildSeconds: 0, extra: 'M 16, efConstruction 200', points };
}

interface USearch {
  Index: new (config: Record<string, unknown>) => {
    add(keys: BigUint64Array, vectors: Float32Array, threads?: number): void;
    search(vector: Float32Array, k: number, threads: number): { keys: BigUint64Array };
  };
}

function usearch(lib: USearch, truth: number[][]): Result {
  const points: Point[] = [];
  let insertPerSec = 0;
  for (const expansion of [16, 64]) {
    const index = new lib.Index({ dimensions: D, metric: 'l2sq', connectivity: 16, expansion_add: 128, expansion_search: expansion, multi: false });
    const keys = BigUint64Array.from({ length: N }, (_, i) => BigInt(i));
    const t0 = performance.now();
    index.add(keys, base, 1);
    const seconds = (performance.now() - t0) / 1000;
    insertPerSec = N / seconds;
    log(`  usearch: ${N} in ${seconds.toFixed(1)} s (expansion_search ${expansion})`);
    const r = timeQueries((q) => Array.from(index.search(q, K, 1).keys, Number));
    points.push({ knob: `expansion ${expansion}`, recall: recall(r.found, truth), qps: r.qps });
    log(`  usearch: expansion ${expansion}: recall ${points[points.length - 1]!.recall.toFixed(3)}, ${r.qps.toFixed(0)} q/s`);
  }
  return { peer: 'usearch', version: peerVersion('usearch'), insertPerSec, buildSeconds: 0, extra: 'connectivity 16, expansion_add 128, threads 1', points };
}

// ---------------------------------------------------------------------------------------------

const meta = { n: N, d: D, queries: Q, clusters: CLUSTERS, sigma: SIGMA, seed: SEED, batch: BATCH, journal: JOURNAL, cpu: cpus()[0]?.model ?? '?', cores: cpus().length, node: process.version, loadStart: loadavg().map((x) => x.toFixed(1)) };
log(`bench:vector: ${N} × ${D}-d, ${CLUSTERS} clusters (sigma ${SIGMA}), ${Q} queries, k ${K}, seed ${SEED}; ${meta.cpu}, load ${meta.loadStart.join(' ')}`);
const peers = loadPeers(PEERS.filter((p) => p === 'hnswlib-node' || p === 'usearch'), !argv.includes('--no-install'));
log('  exact neighbours (brute force)...');
const exact = bruteForce();
const results: Result[] = [];
if (PEERS.includes('brute-force')) results.push({ peer: 'brute force (JS, exact)', version: '-', insertPerSec: Infinity, buildSeconds: 0, points: [{ knob: '-', recall: 1, qps: exact.qps }] });
if (PEERS.includes('sop-ts')) results.push(await sopTs(exact.truth));
if (peers.has('hnswlib-node')) results.push(hnswlib(peers.get('hnswlib-node') as HnswLib, exact.truth));
if (peers.has('usearch')) results.push(usearch(peers.get('usearch') as USearch, exact.truth));
const loadEnd = loadavg().map((x) => x.toFixed(1));

const lines = [
  `### Vectors: ${N.toLocaleString('en')} × ${D}-d, ${CLUSTERS} clusters, ${Q} queries, k = ${K}`,
  '',
  `${meta.cpu} (${meta.cores} cores, shared), node ${meta.node}, load ${meta.loadStart.join(' ')} → ${loadEnd.join(' ')}; seed ${SEED}.`,
  '',
  '| peer | version | insert/s | knob | recall@10 | queries/s | notes |',
  '|---|---|---:|---|---:|---:|---|',
];
for (const r of results) {
  r.points.forEach((p, i) => {
    const insert = i > 0 ? '' : Number.isFinite(r.insertPerSec) ? r.insertPerSec.toFixed(0) : '-';
    lines.push(`| ${i === 0 ? r.peer : ''} | ${i === 0 ? r.version : ''} | ${insert} | ${p.knob} | ${p.recall.toFixed(3)} | ${p.qps.toFixed(0)} | ${i === 0 ? (r.extra ?? '') + (r.buildSeconds ? `; optimize ${r.buildSeconds.toFixed(1)} s` : '') : ''} |`);
  });
}
process.stdout.write(`${lines.join('\n')}\n`);
const json = flag('json', '');
if (json) writeFileSync(json, JSON.stringify({ meta: { ...meta, loadEnd }, results }, null, 2));
