/**
 * Clustered mode with real parts (issue #4): WORKERS OS processes share one folder and one
 * real redis-server that this test spawns on a free port. Each runs concurrent bank transfers
 * and list appends (tests/cluster/worker.ts). Every KILL_EVERY_MS one process is SIGKILLed and
 * started again; Redis is killed and restarted (total loss, new run id) REDIS_RESTARTS times.
 * Afterwards: the bank total is conserved; every acknowledged append is in its list exactly
 * once and in the 'marks' store of the same commit (no partial commit across stores); no
 * value appears that was never attempted; counts and structure check out and nothing is left
 * in translogs once a sweep ran; every process acknowledged commits after the last restart.
 * Spec: ACID-1, ACID-2, ACID-4, CLU-1..CLU-5, STRUCT-1..3.
 *
 * SOP_CLUSTER_SECONDS sets the duration (CI 60, nightly 600). Testcontainers needs a Docker
 * engine; without one (this machine) the local redis-server binary is used, and the test says so.
 */
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../../src/index.js';
import { RedisServer, requireRedisBinaries } from '../support/redis-server.js';
import { ACCOUNTS, INITIAL, LIST_KEYS, clusterOptions, createStores, spawnWorker } from './shared.js';

const SECONDS = Number(process.env.SOP_CLUSTER_SECONDS ?? 60);
const WORKERS = 4;
const KILL_EVERY_MS = 2_400;
const REDIS_RESTARTS = Math.max(2, Math.floor(SECONDS / 25));

interface Event {
  e: 'open' | 'ok' | 'err' | 'invoke';
  op?: 'transfer' | 'append';
  key?: number;
  v?: string;
  code?: string;
  msg?: string;
  where?: string;
}

class Worker {
  proc: ChildProcess | null = null;
  incarnation = 0;
  readonly events: Array<Event & { at: number; inc: number }> = [];
  constructor(readonly id: number, private readonly folder: string, private readonly redis: string) {}

  start(): void {
    this.incarnation++;
    const inc = this.incarnation;
    const env = { SOP_FOLDER: this.folder, SOP_REDIS: this.redis, SOP_WORKER: String(this.id), SOP_SEED: String(this.id * 1000 + inc) };
    this.proc = spawnWorker(env, (e) => this.events.push({ ...(e as unknown as Event), at: Date.now(), inc }));
  }

  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
    this.proc = null;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe(`clustered mode: ${WORKERS} processes, SIGKILLs and Redis restarts (CLU-1..CLU-5, ACID-1)`, function () {
  this.timeout((SECONDS + 300) * 1000);
  let folder: string;
  let redis: RedisServer;
  let workers: Worker[] = [];

  before(async function () {
    await requireRedisBinaries();
    process.stdout.write('      (no Docker engine assumed: testcontainers is not used; Redis is the local redis-server binary)\n');
  });

  beforeEach(async () => {
    folder = mkdtempSync(join(tmpdir(), 'sop-multi-'));
    redis = await RedisServer.start();
  });

  afterEach(async () => {
    for (const w of workers) await w.kill();
    await redis.dispose();
    rmSync(folder, { recursive: true, force: true });
  });

  it(`${SECONDS} s of bank transfers and list appends: nothing acknowledged lost, nothing partial, all make progress`, async () => {
    const setup = await Database.open({ folder, redis: redis.url, ...clusterOptions });
    await createStores(setup);
    await setup.close();

    workers = Array.from({ length: WORKERS }, (_, i) => new Worker(i, folder, redis.url));
    for (const w of workers) w.start();
    const started = Date.now();
    const redisAt = Array.from({ length: REDIS_RESTARTS }, (_, i) => started + ((i + 1) * SECONDS * 1000) / (REDIS_RESTARTS + 1));
    let kills = 0;
    let redisRestarts = 0;
    let lastRedisRestart = 0;
    let next = 0;
    while (Date.now() - started < SECONDS * 1000) {
      await sleep(KILL_EVERY_MS);
      const victim = workers[next++ % WORKERS]!;
      await victim.kill();
      kills++;
      victim.start();
      if (redisRestarts < REDIS_RESTARTS && Date.now() >= redisAt[redisRestarts]!) {
        await redis.restart();
        redisRestarts++;
        lastRedisRestart = Date.now();
      }
    }
    // Progress after the last restart: every process must acknowledge commits again. Locks a
    // killed process held expire first (sector and count locks after 30 s, then their claim
    // files after 10 s of watching), so this waits, boundedly, for each process to commit.
    const progressed = (w: Worker): boolean => w.events.some((e) => e.e === 'ok' && e.at > lastRedisRestart);
    const patience = Date.now() + 120_000;
    await sleep(6_000);
    while (workers.some((w) => !progressed(w)) && Date.now() < patience) await sleep(500);
    for (const w of workers) await w.kill();
    const elapsed = (Date.now() - started) / 1000;

    const events = workers.flatMap((w) => w.events.map((e) => ({ ...e, worker: w.id })));
    const acked = events.filter((e) => e.e === 'ok');
    const errors = events.filter((e) => e.e === 'err');
    const bad = errors.filter((e) => e.code === 'raw' || e.code === 'CORRUPT');
    const codes: Record<string, number> = {};
    for (const e of errors) codes[e.code!] = (codes[e.code!] ?? 0) + 1;
    process.stdout.write(
      `      ${elapsed.toFixed(0)} s, ${kills} SIGKILLs, ${redisRestarts} Redis restarts: ${acked.length} commits acknowledged ` +
        `(${(acked.length / elapsed).toFixed(1)}/s: ${acked.filter((e) => e.op === 'transfer').length} transfers, ${acked.filter((e) => e.op === 'append').length} appends), ` +
        `failed attempts by code ${JSON.stringify(codes)}\n`,
    );
    assert.ok(kills >= Math.floor(SECONDS / 3), `kills ${kills}`);
    assert.ok(redisRestarts >= 2, `redis restarts ${redisRestarts}`);
    assert.deepEqual(bad.map((e) => `${e.worker}: ${e.code} ${e.msg}`), [], 'no untyped or CORRUPT errors');
    for (const w of workers) assert.ok(progressed(w), `worker ${w.id} made progress after the last Redis restart`);

    // A fresh process: recovery at open, then a sweep once the killed processes' locks have
    // expired (their TTL is the transactions' maxTimeMs, 5 s) and the grace period has passed.
    await sleep(Math.max(clusterOptions.clusterGraceMs!, 5_000) + 1_000);
    const db = await Database.open({ folder, redis: redis.url, ...clusterOptions });
    try {
      // The first sweep sees what the killed processes left; what is still quiet one grace
      // period later is theirs for good (CLU-4) and the second sweep finishes it.
      await db.sweep();
      await sleep(clusterOptions.clusterGraceMs! + 500);
      await db.sweep();
      const bank = await db.transaction('read', async (tx) => {
        const b = await db.openBtree<number, number>(tx, 'bank');
        const all: number[] = [];
        for await (const [, v] of b.range()) all.push(v);
        return all;
      });
      assert.equal(bank.length, ACCOUNTS);
      assert.equal(bank.reduce((a, b) => a + b, 0), ACCOUNTS * INITIAL, 'bank total conserved (ACID-1, ACID-4)');

      const { lists, marks } = await db.transaction('read', async (tx) => {
        const l = await db.openBtree<number, string[]>(tx, 'lists');
        const m = await db.openBtree<string, number>(tx, 'marks');
        const lists = new Map<number, string[]>();
        for await (const [k, v] of l.range()) lists.set(k, v);
        const marks = new Map<string, number>();
        for await (const [k, v] of m.range()) marks.set(k, v);
        return { lists, marks };
      });
      const invoked = new Set(events.filter((e) => e.e === 'invoke').map((e) => e.v!));
      const inLists = new Map<string, number>();
      for (const [key, values] of lists) {
        assert.ok(key >= 0 && key < LIST_KEYS);
        for (const v of values) {
          assert.ok(!inLists.has(v), `value ${v} appears twice`);
          inLists.set(v, key);
          assert.ok(invoked.has(v), `value ${v} was never attempted`);
        }
      }
      for (const e of acked.filter((a) => a.op === 'append')) {
        assert.equal(inLists.get(e.v!), e.key, `acknowledged append ${e.v} to list ${e.key} is lost`);
      }
      assert.deepEqual([...marks.entries()].sort(), [...inLists.entries()].sort(), 'lists and marks hold exactly the same commits (no partial commit)');
      for (const name of ['bank', 'lists', 'marks']) {
        const check = await db.checkStore(name);
        assert.equal(check.orphanBlobs, 0, `${name}: orphan blobs ${check.orphanSample.join(', ')}`);
      }
      assert.equal((await db.checkStore('marks')).count, marks.size);
      assert.deepEqual(readdirSync(join(folder, 'translogs')), [], 'translogs empty after the sweep');
    } finally {
      await db.close();
    }
  });
});
