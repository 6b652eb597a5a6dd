/**
 * `npm run bench:cluster`: the multi-process workload of tests/cluster (bank transfers and list
 * appends, 12 concurrent loops in all) for SECONDS, once standalone (one process, 12 loops) and
 * once clustered (4 processes × 3 loops through a local redis-server), without faults. Prints
 * commits/s and CONFLICT retries per commit for each. Measured, never asserted.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../src/index.js';
import { RedisServer } from '../tests/support/redis-server.js';
import { clusterOptions, createStores, spawnWorker } from '../tests/cluster/shared.js';

const SECONDS = Number(process.argv[2] ?? 20);

interface Result { mode: string; processes: number; commits: number; perSecond: number; retriesPerCommit: number; errors: number }

async function run(mode: 'standalone' | 'clustered', processes: number, loops: number, redis: string): Promise<Result> {
  const folder = mkdtempSync(join(tmpdir(), `sop-bench-${mode}-`));
  try {
    const db = mode === 'standalone' ? await Database.open({ folder, registryHashMod: 16 }) : await Database.open({ folder, redis, ...clusterOptions });
    await createStores(db);
    await db.close();
    let commits = 0;
    let attempts = 0;
    let errors = 0;
    const procs: ChildProcess[] = [];
    for (let p = 0; p < processes; p++) {
      const env = { SOP_FOLDER: folder, SOP_REDIS: redis, SOP_WORKER: String(p), SOP_SEED: String(p + 1), SOP_LOOPS: String(loops), SOP_MODE: mode };
      const proc = spawnWorker(env, (e) => {
        if (e.e === 'ok') {
          commits++;
          attempts += (e.attempts as number | undefined) ?? 1;
        } else if (e.e === 'err') errors++;
      });
      procs.push(proc);
    }
    await new Promise((r) => setTimeout(r, 3_000)); // start-up (tsx) is not measured
    const [c0, a0] = [commits, attempts];
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const [c1, a1] = [commits, attempts];
    for (const p of procs) p.kill('SIGKILL');
    const n = c1 - c0;
    return { mode, processes, commits: n, perSecond: n / SECONDS, retriesPerCommit: n ? (a1 - a0 - n) / n : 0, errors };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

const server = await RedisServer.start();
try {
  const results = [await run('standalone', 1, 12, server.url), await run('clustered', 4, 3, server.url)];
  process.stdout.write(`workload: transfers + list appends, 12 concurrent loops, ${SECONDS} s each\n`);
  for (const r of results) {
    process.stdout.write(`  ${r.mode.padEnd(10)} ${r.processes} process(es): ${r.commits} commits, ${r.perSecond.toFixed(1)}/s, ${r.retriesPerCommit.toFixed(2)} CONFLICT retries per commit, ${r.errors} failed attempts\n`);
  }
  process.stdout.write(`  clustered / standalone: ${(results[1]!.perSecond / results[0]!.perSecond).toFixed(2)}×\n`);
} finally {
  await server.dispose();
}
