/**
 * `npm run bench:ec-commit`: single-item durable commits on an erasure-coded (2+1) folder, in
 * place and in journal mode (where blobs are coded at the checkpoint, spec JNL-3): commits/s,
 * latency and syncs per commit (checkpoints included). The three drives are folders on one disk.
 *
 *   npx tsx benchmarks/ec-commit.ts [--commits N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Database, realEnv } from '../src/index.js';
import { countingFs, newCounters } from './lib/sop-adapter.js';

const at = process.argv.indexOf('--commits');
const N = at >= 0 ? Number(process.argv[at + 1]) : 500;

async function run(journal: boolean): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'sop-bench-ec-commit-'));
  const drives = [0, 1, 2].map((d) => `${root}/d${d}`);
  const c = newCounters();
  const env = realEnv();
  const db = await Database.open({ folder: `${root}/db`, erasureCoding: { dataShards: 2, parityShards: 1, drives }, journal, env: { ...env, fs: countingFs(env.fs, c) } });
  await db.transaction('write', async (tx) => { const t = await db.newBtree<number, string>(tx, 'kv'); for (let i = 0; i < 10000; i++) await t.add(i, 'v'.repeat(100)); });
  const before = { ...c };
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const s = performance.now();
    await db.transaction('write', async (tx) => { await (await db.openBtree<number, string>(tx, 'kv')).update((i * 7919) % 10000, `u${i}`); });
    lat.push(performance.now() - s);
  }
  const ms = performance.now() - t0;
  lat.sort((a, b) => a - b);
  await db.close();
  console.log(`${journal ? 'journal ' : 'in place'}: ${(N / (ms / 1000)).toFixed(0)} commits/s, p50 ${lat[Math.floor(N / 2)]!.toFixed(2)} ms, p99 ${lat[Math.floor(N * 0.99)]!.toFixed(2)} ms, syncs/commit ${((c.fsyncs - before.fsyncs) / N).toFixed(2)}, dir syncs/commit ${((c.dirsyncs - before.dirsyncs) / N).toFixed(2)}, writes/commit ${((c.writes - before.writes) / N).toFixed(2)}`);
  rmSync(root, { recursive: true, force: true });
}
await run(false);
await run(true);
