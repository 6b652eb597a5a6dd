/**
 * One measurement of `npm run bench:stream`, in a process of its own so its RSS is its own.
 * Prints one JSON line { what, bytes, ms, baseRss, peakRss }. Usage:
 *   tsx stream-probe.ts <what> <dir> <bytes> <chunkSize> [appendTxBytes]
 * what: raw-write | raw-read | files-write | files-read | sop-write | sop-append | sop-read
 *   raw-*     one file, 1 MiB writes, one fsync at the end (sequential I/O as the disk does it)
 *   files-*   the same bytes as plain files of chunkSize bytes, each fsynced, the folders synced
 *             (what the stream store writes: one durable blob per chunk)
 *   sop-write one transaction: pipeline(source, media.createWriteStream) and commit
 *   sop-append transactions of appendTxBytes each (media.write at the end), the value built in steps
 *   sop-read  createReadStream of the whole value into a sink
 * Bytes come from a generator of 1 MiB blocks, never whole in memory.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Database } from '../../src/index.js';

const [what, dir, bytesArg, chunkArg, appendArg] = process.argv.slice(2);
const total = Number(bytesArg);
const chunkSize = Number(chunkArg);
const appendBytes = Number(appendArg ?? 64 << 20);
const MiB = 1 << 20;

let peak = process.memoryUsage.rss();
const sample = (): void => void (peak = Math.max(peak, process.memoryUsage.rss()));
const timer = setInterval(sample, 10);

/** 1 MiB blocks (the last one shorter); the content varies so nothing compresses or dedups. */
function* blocks(from: number, to: number): Generator<Buffer> {
  const block = Buffer.alloc(MiB);
  for (let at = from; at < to; at += MiB) {
    block.fill((at / MiB) & 0xff);
    block.writeUInt32LE(at >>> 0, 0);
    yield block.subarray(0, Math.min(MiB, to - at));
  }
}

function rawWrite(): void {
  const fd = openSync(join(dir!, 'raw.bin'), 'w');
  for (const b of blocks(0, total)) writeSync(fd, b);
  fsyncSync(fd);
  closeSync(fd);
}

function rawRead(): void {
  const fd = openSync(join(dir!, 'raw.bin'), 'r');
  const buf = Buffer.alloc(MiB);
  let n = 0;
  for (let r = readSync(fd, buf); r > 0; r = readSync(fd, buf)) n += r;
  closeSync(fd);
  if (n !== total) throw new Error(`read ${n}`);
}

/** Plain files of chunkSize bytes in 256 fan-out folders, each fsynced, then every folder synced. */
function filesWrite(): void {
  const root = join(dir!, 'files');
  mkdirSync(root, { recursive: true });
  const buf = Buffer.alloc(chunkSize);
  let i = 0;
  let fill = 0;
  const flush = (n: number): void => {
    const sub = join(root, (i % 256).toString(16).padStart(2, '0'));
    mkdirSync(sub, { recursive: true });
    const fd = openSync(join(sub, String(i++)), 'w');
    writeSync(fd, buf, 0, n);
    fsyncSync(fd);
    closeSync(fd);
  };
  for (const b of blocks(0, total)) {
    for (let at = 0; at < b.length; ) {
      const n = Math.min(chunkSize - fill, b.length - at);
      b.copy(buf, fill, at, at + n);
      fill += n;
      at += n;
      if (fill === chunkSize) {
        flush(fill);
        fill = 0;
      }
    }
  }
  if (fill > 0) flush(fill);
  for (let s = 0; s < Math.min(256, i); s++) {
    const fd = openSync(join(root, s.toString(16).padStart(2, '0')), 'r');
    fsyncSync(fd);
    closeSync(fd);
  }
}

function filesRead(): void {
  const root = join(dir!, 'files');
  const buf = Buffer.alloc(chunkSize);
  let n = 0;
  for (let i = 0; n < total; i++) {
    const fd = openSync(join(root, (i % 256).toString(16).padStart(2, '0'), String(i)), 'r');
    n += readSync(fd, buf);
    closeSync(fd);
  }
}

async function sopWrite(db: Database): Promise<void> {
  await db.transaction('write', async (tx) => {
    const media = await db.newStreamStore(tx, 'media', { chunkSize });
    await pipeline(Readable.from(blocks(0, total)), media.createWriteStream('v'));
  });
}

async function sopAppend(db: Database): Promise<void> {
  for (let from = 0; from < total; from += appendBytes) {
    await db.transaction('write', async (tx) => {
      const media = await db.newStreamStore(tx, 'media', { chunkSize });
      let size = (await media.stat('v'))?.size ?? 0;
      for (const b of blocks(from, Math.min(total, from + appendBytes))) {
        await media.write('v', size, b);
        size += b.length;
      }
    });
  }
}

async function sopRead(db: Database): Promise<void> {
  let n = 0;
  await db.transaction('read', async (tx) => {
    const media = await db.openStreamStore(tx, 'media');
    await pipeline(media.createReadStream('v'), new Writable({ write(c: Buffer, _e, cb) { n += c.length; cb(); } }));
  });
  if (n !== total) throw new Error(`read ${n}`);
}

async function main(): Promise<void> {
  const db = what!.startsWith('sop') ? await Database.open({ folder: join(dir!, 'db') }) : null;
  const baseRss = process.memoryUsage.rss();
  peak = baseRss;
  const start = performance.now();
  if (what === 'raw-write') rawWrite();
  else if (what === 'raw-read') rawRead();
  else if (what === 'files-write') filesWrite();
  else if (what === 'files-read') filesRead();
  else if (what === 'sop-write') await sopWrite(db!);
  else if (what === 'sop-append') await sopAppend(db!);
  else if (what === 'sop-read') await sopRead(db!);
  else throw new Error(`unknown probe ${what}`);
  const ms = performance.now() - start;
  sample();
  clearInterval(timer);
  await db?.close();
  process.stdout.write(`${JSON.stringify({ what, bytes: total, ms, baseRss, peakRss: peak })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
