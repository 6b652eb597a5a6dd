/**
 * `npm run bench:replication`: the cost of active/passive mirroring (spec REPL-2). The same
 * workload runs on a plain folder and on a replicated one (both folders on this machine's one
 * disk, so every fsync is paid twice on the same device): N items inserted in transactions of
 * 1,000, then single-item durable commits. Prints ops/s and the ratio. Measured, never asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../src/index.js';

const N = Number(process.argv[2] ?? 20_000);
const COMMITS = Number(process.argv[3] ?? 300);

interface Result { mode: string; insertPerSecond: number; commitsPerSecond: number; commitP50: number; commitP99: number }

async function run(mode: 'plain' | 'replicated'): Promise<Result> {
  const root = mkdtempSync(join(tmpdir(), `sop-bench-repl-${mode}-`));
  try {
    const folder = join(root, 'a');
    const db = await Database.open(mode === 'plain' ? { folder } : { folder, replication: { passive: join(root, 'b') } });
    await db.transaction('write', async (tx) => void (await db.newBtree<number, string>(tx, 'items')));
    const value = 'v'.repeat(100);
    let t0 = performance.now();
    for (let from = 0; from < N; from += 1000) {
      await db.transaction('write', async (tx) => {
        const tree = await db.openBtree<number, string>(tx, 'items');
        for (let k = from; k < Math.min(N, from + 1000); k++) await tree.add((k * 7919) % N, value);
      });
    }
    const insertPerSecond = N / ((performance.now() - t0) / 1000);
    const latencies: number[] = [];
    t0 = performance.now();
    for (let i = 0; i < COMMITS; i++) {
      const start = performance.now();
      await db.transaction('write', async (tx) => void (await (await db.openBtree<number, string>(tx, 'items')).upsert(i, value)));
      latencies.push(performance.now() - start);
    }
    const commitsPerSecond = COMMITS / ((performance.now() - t0) / 1000);
    if (mode === 'replicated' && (await db.compareReplicas()).length > 0) throw new Error('replicas differ after the benchmark');
    await db.close();
    latencies.sort((a, b) => a - b);
    return { mode, insertPerSecond, commitsPerSecond, commitP50: latencies[Math.floor(COMMITS / 2)]!, commitP99: latencies[Math.floor(COMMITS * 0.99)]! };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const results = [await run('plain'), await run('replicated')];
process.stdout.write(`workload: ${N.toLocaleString()} inserts in transactions of 1,000, then ${COMMITS} single-item commits; both folders on one disk\n`);
for (const r of results) {
  process.stdout.write(`  ${r.mode.padEnd(10)} insert ${r.insertPerSecond.toFixed(0)}/s, commit ${r.commitsPerSecond.toFixed(1)}/s (p50 ${r.commitP50.toFixed(2)} ms, p99 ${r.commitP99.toFixed(2)} ms)\n`);
}
process.stdout.write(`  replicated / plain: insert ${(results[1]!.insertPerSecond / results[0]!.insertPerSecond).toFixed(2)}×, commit ${(results[1]!.commitsPerSecond / results[0]!.commitsPerSecond).toFixed(2)}×\n`);
