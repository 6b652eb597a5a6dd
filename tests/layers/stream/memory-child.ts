/**
 * Memory probe of memory.test.ts (the benchmark has its own, benchmarks/layers/stream-probe.ts), run in its own process
 * (node --expose-gc) so the figures are this workload's alone. Prints one JSON line:
 * `{ mode, bytes, baseRss, peakRss, growth }` (bytes of RSS). Modes:
 *   read    reads a value of SOP_MIB MiB through createReadStream (built first by appends, then
 *           the database reopened); its baseline is the peak of reading the first 8 MiB
 *   append  writes it with media.write appends, SOP_TXS transactions of equal share
 *   stream  writes it through one createWriteStream in ONE transaction
 * Env: SOP_FOLDER, SOP_MIB (default 64), SOP_CHUNK (bytes, default 256 KiB), SOP_TXS (default 16).
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Database } from '../../../src/index.js';

const MIB = 1 << 20;
const mode = process.argv[2] ?? 'read';
const size = Number(process.env.SOP_MIB ?? 64) * MIB;
const chunkSize = Number(process.env.SOP_CHUNK ?? 256 * 1024);
const txs = Number(process.env.SOP_TXS ?? 16);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

let peak = 0;
const sample = (): void => void (peak = Math.max(peak, process.memoryUsage.rss()));

/** The bytes of the value, produced 64 KiB at a time (never whole in memory). */
function* source(from: number, to: number): Generator<Buffer> {
  const block = Buffer.alloc(Math.min(chunkSize, 1 << 20));
  for (let at = from; at < to; at += block.length) {
    block.fill(at / block.length);
    yield block.subarray(0, Math.min(block.length, to - at));
  }
}

async function appendAll(db: Database): Promise<void> {
  const share = Math.ceil(size / txs);
  for (let from = 0; from < size; from += share) {
    await db.transaction('write', async (tx) => {
      const media = await db.newStreamStore(tx, 'media', { chunkSize });
      for (const block of source(from, Math.min(size, from + share))) {
        await media.write('v', (await media.stat('v'))?.size ?? 0, block);
        sample();
      }
    });
  }
}

/** Reads value 'v' (through byte `end`, default all) in one read transaction; the bytes read. */
async function readAll(db: Database, end?: number): Promise<number> {
  let n = 0;
  await db.transaction('read', async (tx) => {
    const media = await db.openStreamStore(tx, 'media');
    const sink = new Writable({ write(chunk: Buffer, _e, cb) { n += chunk.length; sample(); cb(); } });
    await pipeline(media.createReadStream('v', end === undefined ? undefined : { end }), sink);
  });
  return n;
}

async function main(): Promise<void> {
  // SOP_JOURNAL: '0' commits in place; otherwise journal mode, holding at most SOP_HELD_MIB of committed blobs until a checkpoint.
  const held = Number(process.env.SOP_HELD_MIB ?? 256) * 1024 * 1024;
  const journal = process.env.SOP_JOURNAL === '0' ? false : { maxHeldBytes: held, maxBytes: held };
  let db = await Database.open({ folder: process.env.SOP_FOLDER!, journal });
  if (mode === 'read') {
    // Built, then closed and opened again: the journal's checkpoint of the build must not run
    // (and allocate) while the read is measured.
    await appendAll(db);
    await db.close();
    db = await Database.open({ folder: process.env.SOP_FOLDER!, journal });
  }
  gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc();
  let baseRss = process.memoryUsage.rss();
  if (mode === 'read') {
    // The baseline of a read is the peak of reading its first 8 MiB: the growth is then what
    // reading 16 times more adds. RSS after a gc varied by 20 MiB with what the OS took back,
    // while the peak of any read stayed near 140 MiB.
    peak = baseRss;
    await readAll(db, 8 * MIB - 1);
    baseRss = peak;
  }
  peak = baseRss;
  const timer = setInterval(sample, 5);
  if (mode === 'append') await appendAll(db);
  if (mode === 'stream') {
    await db.transaction('write', async (tx) => {
      const media = await db.newStreamStore(tx, 'media', { chunkSize });
      await pipeline(Readable.from(source(0, size)), media.createWriteStream('v'));
      sample();
    });
  }
  if (mode === 'read') {
    const n = await readAll(db);
    if (n !== size) throw new Error(`read ${n} bytes of ${size}`);
  }
  clearInterval(timer);
  sample();
  await db.close();
  process.stdout.write(`${JSON.stringify({ mode, bytes: size, baseRss, peakRss: peak, growth: peak - baseRss })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
