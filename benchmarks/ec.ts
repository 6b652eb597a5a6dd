/**
 * `npm run bench:ec`: erasure-coded blob throughput next to what the disk does with fsync.
 * 1 MiB blobs, durable writes (every file fsynced, every folder synced), in real tmp folders.
 * All "drives" are folders on the same disk here, so EC pays (D+P)/D times the bytes and D+P
 * fsyncs per blob against one disk: on real separate drives the shard writes run in parallel.
 * Reads come from the page cache (just written), so they measure CPU, decode and syscalls.
 *
 *   npx tsx benchmarks/ec.ts [--blobs N] [--batch B] [--tmp DIR]
 */
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { realEnv } from '../src/adapters/real-env.js';
import { BlobStore } from '../src/blobs/blob-store.js';
import type { Blobs } from '../src/blobs/blobs.js';
import { validateErasureCoding } from '../src/ec/config.js';
import { ErasureBlobStore } from '../src/ec/erasure-blob-store.js';
import { RsCodec } from '../src/ec/rs-codec.js';
import { mulberry32 } from './lib/workload.js';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const BLOBS = Number(opt('blobs') ?? 64);
const BATCH = Number(opt('batch') ?? 8); // blobs per putAll, like the blobs of one commit
const MiB = 1 << 20;
const tmp = mkdtempSync(join(opt('tmp') ?? tmpdir(), 'sop-bench-ec-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

const rand = mulberry32(7);
const blobs = Array.from({ length: BLOBS }, (_, i) => ({
  id: `${(i % 256).toString(16).padStart(2, '0')}${i.toString(16).padStart(6, '0')}-0000-4000-8000-000000000000`,
  bytes: Uint8Array.from({ length: MiB }, () => (rand() * 256) | 0),
}));
const env = realEnv();
const rows: { what: string; write: number; read: number | null }[] = [];
const mbps = (bytes: number, ms: number): number => bytes / MiB / (ms / 1000);

/** Raw disk: one 1 MiB file per blob, written and fsynced, the folder fsynced (what a blob costs at least). */
function rawPerFile(): number {
  const dir = join(tmp, 'raw-files');
  mkdirSync(dir);
  const start = performance.now();
  for (const blob of blobs) {
    const fd = openSync(join(dir, blob.id), 'w');
    writeSync(fd, blob.bytes);
    fsyncSync(fd);
    closeSync(fd);
  }
  const dirFd = openSync(dir, 'r');
  fsyncSync(dirFd);
  closeSync(dirFd);
  return mbps(BLOBS * MiB, performance.now() - start);
}

/** Raw disk: one sequential stream of all blobs, fsync at the end (the disk's best case). */
function rawSequential(): number {
  const fd = openSync(join(tmp, 'raw-seq'), 'w');
  const start = performance.now();
  for (const blob of blobs) writeSync(fd, blob.bytes);
  fsyncSync(fd);
  const ms = performance.now() - start;
  closeSync(fd);
  return mbps(BLOBS * MiB, ms);
}

async function measure(what: string, store: Blobs): Promise<void> {
  await store.create();
  let start = performance.now();
  for (let i = 0; i < BLOBS; i += BATCH) await store.putAll(blobs.slice(i, i + BATCH));
  const write = mbps(BLOBS * MiB, performance.now() - start);
  start = performance.now();
  for (const blob of blobs) if ((await store.get(blob.id))?.length !== MiB) throw new Error(`${what}: blob ${blob.id} did not read back`);
  rows.push({ what, write, read: mbps(BLOBS * MiB, performance.now() - start) });
}

function ecStore(d: number, p: number): ErasureBlobStore {
  const drives = Array.from({ length: d + p }, (_, i) => join(tmp, `ec${d}${p}`, `drive${i}`));
  return new ErasureBlobStore(env, validateErasureCoding({ dataShards: d, parityShards: p, drives }), 'bench', join(tmp, 'store'), new RsCodec(d, p));
}

rows.push({ what: 'raw: sequential stream, one fsync', write: rawSequential(), read: null });
rows.push({ what: 'raw: 1 MiB file + fsync per blob', write: rawPerFile(), read: null });
await measure('BlobStore (local, no EC)', new BlobStore(env, join(tmp, 'local', 'blobs')));
await measure('EC 2+1', ecStore(2, 1));
await measure('EC 4+2', ecStore(4, 2));
// Degraded read: 4+2 with one data drive gone decodes every blob.
const degraded = ecStore(4, 2);
await degraded.create();
for (let i = 0; i < BLOBS; i += BATCH) await degraded.putAll(blobs.slice(i, i + BATCH));
rmSync(join(tmp, 'ec42', 'drive0'), { recursive: true, force: true });
const start = performance.now();
for (const blob of blobs) await degraded.get(blob.id);
rows.push({ what: 'EC 4+2, one data drive lost (decode)', write: NaN, read: mbps(BLOBS * MiB, performance.now() - start) });

console.log(`${BLOBS} blobs of 1 MiB, ${BATCH} per putAll, durable, in ${tmp}`);
console.log(`${'what'.padEnd(40)} ${'write MB/s'.padStart(11)} ${'read MB/s'.padStart(11)}`);
for (const r of rows) {
  const cell = (v: number | null): string => (v === null || Number.isNaN(v) ? '-' : v.toFixed(0)).padStart(11);
  console.log(`${r.what.padEnd(40)} ${cell(r.write)} ${cell(r.read)}`);
}
