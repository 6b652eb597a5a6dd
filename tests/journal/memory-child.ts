/**
 * Memory probe of memory.test.ts, in a process of its own (node --expose-gc). Builds a store of
 * SOP_ITEMS items in transactions of 1,000, then runs SOP_TXS update transactions of 500 random
 * keys each (journal mode holds at most 4 MiB of blobs until a checkpoint), and prints one JSON line: the bytes of live ArrayBuffers (after a gc) after the
 * first tenth of those transactions and after the last one. Env: SOP_FOLDER, SOP_JOURNAL ('0':
 * in place), SOP_ITEMS (default 20,000), SOP_TXS (default 40).
 */
import { Database } from '../../src/index.js';

const items = Number(process.env.SOP_ITEMS ?? 20_000);
const txs = Number(process.env.SOP_TXS ?? 40);
const gc = (globalThis as { gc?: () => void }).gc;

let seed = 7;
const random = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const key = (i: number): string => `k${String(i).padStart(15, '0')}`;

async function main(): Promise<void> {
  if (!gc) throw new Error('run with --expose-gc');
  const db = await Database.open({ folder: process.env.SOP_FOLDER!, journal: process.env.SOP_JOURNAL === '0' ? false : { maxHeldBytes: 4 << 20 } });
  await db.transaction('write', async (tx) => void (await db.newBtree(tx, 'kv', {})));
  for (let from = 0; from < items; from += 1000) {
    await db.transaction('write', async (tx) => {
      const kv = await db.openBtree<string, Uint8Array>(tx, 'kv');
      for (let i = from; i < from + 1000; i++) await kv.upsert(key(Math.floor(random() * items * 10)), new Uint8Array(100).fill(i));
    });
  }
  // After a sweep (journal mode: a checkpoint; it may otherwise be running in the background and
  // hold the blobs it writes), so what is measured is what the store keeps between commits.
  const live = async (): Promise<number> => {
    await db.sweep();
    // Dead ArrayBuffers are freed by a sweeper that may finish after gc() returns: collect again after a pause.
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
    gc();
    return process.memoryUsage().arrayBuffers;
  };
  let early = 0;
  for (let t = 1; t <= txs; t++) {
    await db.transaction('write', async (tx) => {
      const kv = await db.openBtree<string, Uint8Array>(tx, 'kv');
      for (let i = 0; i < 500; i++) await kv.upsert(key(Math.floor(random() * items * 10)), new Uint8Array(100).fill(t));
    });
    if (t === Math.ceil(txs / 10)) early = await live();
  }
  const late = await live();
  await db.close();
  process.stdout.write(`${JSON.stringify({ early, late, growth: late - early })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
