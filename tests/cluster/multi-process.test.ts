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
 * SOP_CLUSTER_SECONDS sets the duration (CI 60, nightly 600). SOP_TRACE_LOCKS=1 makes the
 * workers report locks held or kept from them for over 3 s (lock-trace.ts), printed under each
 * wait over 5 s: that is how the 30 s stall of an empty claim file was found. Testcontainers needs a Docker
 * engine; without one (this machine) the local redis-server binary is used, and the test says so.
 */
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
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
  e: 'open' | 'ok' | 'err' | 'invoke' | 'retry' | 'held' | 'blocked';
  op?: 'transfer' | 'append';
  /** The operation (invoke, ok, err) and the keys it changes: a<account> or l<list>. */
  id?: string;
  keys?: string[];
  key?: number | string;
  v?: string;
  code?: string;
  msg?: string;
  where?: string;
  /** Lock tracing (SOP_TRACE_LOCKS=1, lock-trace.ts): the owner, how it was taken, for how long. */
  by?: string;
  how?: string;
  ms?: number;
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

/**
 * For each SIGKILL that caught the victim in the middle of operations: the time until another
 * process acknowledged a commit that changed one of the keys those operations were changing.
 */
function killToNextCommit(killed: ReadonlyArray<{ worker: Worker; inc: number; at: number; redisRestart?: boolean }>, workers: readonly Worker[]): Array<{ ms: number; keys: string[]; redisRestart: boolean; at: number }> {
  const waits: Array<{ ms: number; keys: string[]; redisRestart: boolean; at: number }> = [];
  for (const kill of killed) {
    const mine = kill.worker.events.filter((e) => e.inc === kill.inc);
    const ended = new Set(mine.filter((e) => (e.e === 'ok' || e.e === 'err') && e.id).map((e) => e.id));
    const keys = new Set(mine.filter((e) => e.e === 'invoke' && e.id && !ended.has(e.id)).flatMap((e) => e.keys ?? []));
    if (keys.size === 0) continue;
    const next = workers
      .filter((w) => w !== kill.worker)
      .flatMap((w) => w.events)
      .filter((e) => e.e === 'ok' && e.at > kill.at && (e.keys ?? []).some((k) => keys.has(k)))
      .reduce((first, e) => Math.min(first, e.at), Infinity);
    if (next !== Infinity) waits.push({ ms: next - kill.at, keys: [...keys], redisRestart: kill.redisRestart === true, at: kill.at });
  }
  return waits;
}

/** The failed and retried attempts between two times, grouped by kind, code and message (ids elided), most frequent first. */
function failuresBetween(events: ReadonlyArray<Event & { at: number }>, from: number, to: number): string {
  const counts = new Map<string, number>();
  for (const e of events) {
    if ((e.e !== 'err' && e.e !== 'retry') || e.at <= from || e.at >= to) continue;
    const what = `${e.e} ${e.code} ${String(e.msg ?? '').replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>').slice(0, 140)}`;
    counts.set(what, (counts.get(what) ?? 0) + 1);
  }
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 6);
  return top.length === 0 ? 'no failed attempt' : top.map(([what, n]) => `${n}× ${what}`).join(' | ');
}

function summarize(waits: ReadonlyArray<{ ms: number }>): string {
  const ms = waits.map((w) => w.ms).sort((a, b) => a - b);
  if (ms.length === 0) return 'no sample';
  const at = (q: number): number => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!;
  return `${ms.length} kills: p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${ms[ms.length - 1]} ms`;
}

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
    const killed: Array<{ worker: Worker; inc: number; at: number; redisRestart?: boolean }> = [];
    let redisRestarts = 0;
    let lastRedisRestart = 0;
    const restartTimes: number[] = [];
    let next = 0;
    while (Date.now() - started < SECONDS * 1000) {
      await sleep(KILL_EVERY_MS);
      const victim = workers[next++ % WORKERS]!;
      const inc = victim.incarnation;
      await victim.kill();
      killed.push({ worker: victim, inc, at: Date.now() });
      kills++;
      victim.start();
      if (redisRestarts < REDIS_RESTARTS && Date.now() >= redisAt[redisRestarts]!) {
        await redis.restart();
        killed[killed.length - 1]!.redisRestart = true; // this kill's locks vanish with Redis: reported apart
        redisRestarts++;
        lastRedisRestart = Date.now();
        restartTimes.push(lastRedisRestart);
      }
    }
    // Progress after the last restart: every process must acknowledge commits again. Locks a
    // killed process held are taken over once its heartbeat is gone (CLU-6), so this waits,
    // boundedly, for each process to commit.
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
        `failed attempts by code ${JSON.stringify(codes)}, conflicts retried ${events.filter((e) => e.e === 'retry').length}\n`,
    );
    const waits = killToNextCommit(killed, workers);
    process.stdout.write(
      `      SIGKILL -> next commit by another process on the keys the killed one was changing (CLU-6): ${summarize(waits)}; ` +
        `without a Redis restart ${summarize(waits.filter((w) => !w.redisRestart))}; followed by a Redis restart ${summarize(waits.filter((w) => w.redisRestart))}\n`,
    );
    // Each wait over the 5 s goal, with where its kill fell relative to the nearest Redis restart.
    const nearest = (at: number): number => restartTimes.reduce((best, r) => (Math.abs(at - r) < Math.abs(best) ? at - r : best), Infinity);
    const slow = waits.filter((w) => w.ms > 5_000);
    if (slow.length > 0) process.stdout.write(`      over 5 s: ${slow.map((w) => `${w.ms} ms (kill ${nearest(w.at)} ms from a Redis restart)`).join('; ')}\n`);
    // What the other processes were told meanwhile: the evidence that names the mechanism of a slow one.
    for (const w of slow) process.stdout.write(`      during the ${w.ms} ms wait after ${w.at - started} ms: ${failuresBetween(events, w.at, w.at + w.ms)}\n`);
    for (const w of slow) {
      const traced = events.filter((e) => (e.e === 'held' || e.e === 'blocked') && e.at >= w.at && e.at <= w.at + w.ms + 1_000);
      for (const e of traced.slice(0, 12)) process.stdout.write(`        +${e.at - w.at} ms worker ${e.worker}: ${e.e} ${e.key} by ${e.by} (${e.how ?? ''}) ${e.ms} ms\n`);
    }
    assert.ok(kills >= Math.floor(SECONDS / 3), `kills ${kills}`);
    assert.ok(waits.length > 0, 'no kill hit a process in the middle of an operation');
    // A liveness bound, not a speed target: the default lock TTL is 15 min; CLU-6 frees them in
    // seconds. Measured here alone: max 2.3 s. On 2 cores overloaded (this suite beside a
    // simulator batch, load 3.5+) a kill next to a Redis restart took up to 47 s: the restart drops
    // the liveness keys, so what the dead process left waits out the CLU-4 grace (10 s) and the
    // claims' staleness (10 s) under a starved event loop. The bound catches a lock left to its TTL.
    assert.ok(Math.max(...waits.map((w) => w.ms)) < 60_000, `a dead process blocked its keys: ${summarize(waits)}`);
    assert.ok(redisRestarts >= 2, `redis restarts ${redisRestarts}`);
    assert.deepEqual(bad.map((e) => `${e.worker}: ${e.code} ${e.msg}`), [], 'no untyped or CORRUPT errors');
    for (const w of workers) assert.ok(progressed(w), `worker ${w.id} made progress after the last Redis restart`);

    // A fresh process: recovery at open, then sweeps once the killed processes' heartbeats are
    // gone (CLU-6); what a Redis restart left without a liveness key is theirs for good once it
    // stayed quiet for the grace period (CLU-4, 10 s by default), so the last sweep follows it.
    const db = await Database.open({ folder, redis: redis.url, ...clusterOptions });
    try {
      await sleep(3_000);
      await db.sweep();
      await sleep(10_500);
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
      // Nothing but fences: the priority logs recovery wrote for the dead transactions it undid (CLU-6, kept 2 h).
      const left = readdirSync(join(folder, 'translogs')).filter((n) => !(n.endsWith('.plg') && readFileSync(join(folder, 'translogs', n), 'latin1').includes('"fenced"')));
      assert.deepEqual(left, [], 'translogs hold nothing but fences after the sweep');
    } finally {
      await db.close();
    }
  });
});
