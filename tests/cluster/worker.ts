/**
 * One application process of the multi-process test: opens the shared folder in clustered
 * mode through the shared redis-server and runs concurrent bank transfers and list appends
 * until it is killed. Every line it prints is one JSON event (see multi-process.test.ts):
 *   {"e":"open"}                          the database is open
 *   {"e":"ok","op":"transfer",...}        a transfer committed (acknowledged)
 *   {"e":"ok","op":"append","key":k,"v":v} an append committed (acknowledged)
 *   {"e":"retry","code":"CONFLICT",...}   a conflict retried (up to 30 per operation)
 *   {"e":"err","code":...}                a failed attempt (not acknowledged; maybe applied)
 * Env: SOP_FOLDER, SOP_REDIS, SOP_WORKER, SOP_SEED; SOP_LOOPS (concurrent loops, default 3);
 * SOP_MODE=standalone runs the same workload without Redis (benchmarks/cluster.ts compares);
 * SOP_TRACE_LOCKS=1 adds `held`/`blocked` events for locks kept over 3 s (lock-trace.ts).
 */
import { writeSync } from 'node:fs';
import { Database, SopError } from '../../src/index.js';
import { RedisCoordinator } from '../../src/adapters/redis-coordinator.js';
import { realEnv } from '../../src/adapters/real-env.js';
import { traceLocks } from './lock-trace.js';
import { ACCOUNTS, LIST_KEYS, clusterOptions } from './shared.js';

const folder = process.env.SOP_FOLDER!;
const redis = process.env.SOP_REDIS!;
const worker = process.env.SOP_WORKER!;
let seed = Number(process.env.SOP_SEED ?? 1) >>> 0;
const rnd = (): number => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (n: number): number => Math.floor(rnd() * n);

const out = (event: object): void => {
  const bytes = Buffer.from(`${JSON.stringify(event)}\n`);
  let written = 0;
  while (written < bytes.length) written += writeSync(1, bytes, written);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let db: Database | null = null;
let opening: Promise<Database> | null = null;
let counter = 0;
const standalone = process.env.SOP_MODE === 'standalone';
const LOOPS = Number(process.env.SOP_LOOPS ?? 3);

/** Opens (again) after Redis was down at open or the database stopped itself (REC-5). */
async function database(): Promise<Database> {
  if (db) return db;
  opening ??= (async () => {
    for (;;) {
      try {
        db = standalone
          ? await Database.open({ folder, registryHashMod: clusterOptions.registryHashMod })
          : process.env.SOP_TRACE_LOCKS === '1'
            ? await openTraced()
            : await Database.open({ folder, redis, ...clusterOptions });
        out({ e: 'open' });
        return db;
      } catch (error) {
        out({ e: 'err', where: 'open', code: SopError.is(error) ? error.code : 'raw', msg: String(error).slice(0, 200) });
        await sleep(200);
      }
    }
  })().finally(() => (opening = null));
  return opening;
}

/** Clustered open over a Coordinator that reports long-held locks (lock-trace.ts); closed with the database. */
async function openTraced(): Promise<Database> {
  const inner = await RedisCoordinator.connect(redis, clusterOptions.redisOptions);
  const traced = traceLocks(inner, out);
  try {
    const d = await Database.open({ folder, ...clusterOptions, env: { ...realEnv(), coordinator: traced.coordinator } });
    const close = d.close.bind(d);
    d.close = async () => {
      try {
        await close();
      } finally {
        traced.stop();
        await inner.close();
      }
    };
    return d;
  } catch (error) {
    traced.stop();
    await inner.close();
    throw error;
  }
}

/**
 * `d.transaction(mode 'write', fn)` with up to 30 retries on CONFLICT, as `{ retries: 30 }` does
 * (same full-jitter backoff), except that each retried conflict is printed as a `retry` event:
 * the multi-process test shows what a slow wait after a kill was made of.
 */
async function write(d: Database, id: string, fn: (tx: import('../../src/index.js').Transaction) => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await d.transaction('write', fn, { retries: 0 });
    } catch (error) {
      if (!SopError.is(error, 'CONFLICT') || attempt >= 30) throw error;
      out({ e: 'retry', id, code: error.code, msg: error.message.slice(0, 300) });
      await sleep(1 + Math.floor(rnd() * Math.min(1_000, 2 ** (attempt + 1))));
    }
  }
}

async function transfer(d: Database, note: { id?: string }): Promise<object> {
  const from = pick(ACCOUNTS);
  const to = (from + 1 + pick(ACCOUNTS - 1)) % ACCOUNTS;
  const amount = 1 + pick(20);
  const id = `${worker}.${process.pid}.${++counter}`;
  note.id = id;
  out({ e: 'invoke', op: 'transfer', id, keys: [`a${from}`, `a${to}`] });
  let attempts = 0;
  await write(d, id, async (tx) => {
    attempts++;
    const bank = await d.openBtree<number, number>(tx, 'bank');
    if (!(await bank.find(from))) throw new Error(`account ${from} missing`);
    const a = (await bank.getCurrentValue())!;
    if (!(await bank.find(to))) throw new Error(`account ${to} missing`);
    const b = (await bank.getCurrentValue())!;
    await bank.find(from);
    await bank.updateCurrentValue(a - amount);
    await bank.find(to);
    await bank.updateCurrentValue(b + amount);
  });
  return { op: 'transfer', id, keys: [`a${from}`, `a${to}`], from, to, amount, attempts };
}

async function append(d: Database, note: { id?: string }): Promise<object> {
  const key = pick(LIST_KEYS);
  const v = `${worker}.${process.pid}.${++counter}`;
  note.id = v;
  out({ e: 'invoke', op: 'append', id: v, key, v, keys: [`l${key}`] });
  let attempts = 0;
  await write(d, v, async (tx) => {
    attempts++;
    const lists = await d.openBtree<number, string[]>(tx, 'lists');
    if (await lists.find(key)) await lists.updateCurrentValue([...(await lists.getCurrentValue())!, v]);
    else await lists.add(key, [v]);
    const marks = await d.openBtree<string, number>(tx, 'marks');
    await marks.add(v, key); // a second store and a count change in the same commit (ACID-1, CLU-3)
  });
  return { op: 'append', id: v, keys: [`l${key}`], key, v, attempts };
}

async function loop(): Promise<void> {
  for (;;) {
    const d = await database();
    const note: { id?: string } = {};
    try {
      const done = rnd() < 0.5 ? await transfer(d, note) : await append(d, note);
      out({ e: 'ok', ...done });
    } catch (error) {
      const code = SopError.is(error) ? error.code : 'raw';
      out({ e: 'err', id: note.id, code, msg: String(error).slice(0, 300) });
      if (code === 'raw' || code === 'CORRUPT') process.exitCode = 3;
      if (d.failure || code === 'UNAVAILABLE') {
        // REC-5 (or Redis gone): reopen, which recovers what this process left.
        if (db === d) db = null;
        await d.close().catch(() => undefined);
        await sleep(100);
      }
    }
  }
}

process.on('SIGTERM', () => process.exit(0));
await Promise.all(Array.from({ length: LOOPS }, loop));
