/**
 * Real-process crash tests (spec ACID-1, ACID-3, REC-1..REC-4, STRUCT-1..STRUCT-3, TX-8).
 *
 * A child process (./child.ts) runs bank transfers and log inserts/removes/updates on a real
 * folder and prints TRY/ACK lines around each commit. The parent SIGKILLs it (at a random time,
 * or the child kills itself at a named commit/cow point), reopens the folder (recovery) and
 * checks that the state is exactly "every ACKed transaction, plus possibly the un-ACKed one in
 * flight of each worker, each whole or absent"; counts, the bank total, checkStore (orphanBlobs
 * 0) and an empty translogs folder; then writes, closes and repeats on the same folder.
 *
 * Default: 50 random kills + kills at every named point. SOP_STRESS=1: 500 random kills and
 * more point hits. SOP_CRASH_SEED=<n> replays a seed (timing still varies). SOP_KEEP=1 keeps
 * the folders.
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Database } from '../../src/index.js';
import {
  ACCOUNTS,
  ACCOUNT_COUNT,
  type Account,
  INITIAL_BALANCE,
  LOG,
  type LogValue,
  type Op,
  POINTS,
  TOTAL,
  type Transfer,
  addedValue,
  prng,
  randInt,
  updatedValue,
} from './protocol.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CHILD = join(HERE, 'child.ts');
const REPO = join(HERE, '..', '..');
const STRESS = process.env.SOP_STRESS === '1';
const RANDOM_KILLS = Number(process.env.SOP_CRASH_KILLS ?? (STRESS ? 500 : 60));
const POINT_HITS = STRESS ? [1, 2, 3, 5, 8, 13] : [1, 3, 8];
const SEED = Number(process.env.SOP_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CHILD_TIMEOUT_MS = 60_000;

interface Model {
  stores: boolean;
  balances: number[];
  log: Map<number, LogValue>;
}

const emptyModel = (): Model => ({ stores: false, balances: [], log: new Map() });

// ---------------------------------------------------------------------------------------------
// Child process handling

interface ChildRun {
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when a line equal to `marker` was printed; rejects if the child exits first. */
  waitFor(marker: string): Promise<void>;
  lines(): string[];
  stderr(): string;
}

/** Output a child may print while the test waits for a marker (a child's whole run prints a few MiB). */
const MAX_CHILD_OUTPUT = 64 * 1024 * 1024;

/** `journal`: the child commits in journal mode, checkpointing every that many records (JNL-1..JNL-4). */
function startChild(folder: string, seed: number, logValueInNode: boolean, crashAt?: string, journal?: string): ChildRun {
  const env: NodeJS.ProcessEnv = { ...process.env, SOP_FOLDER: folder, SOP_SEED: String(seed), SOP_LOG_VALUE_IN_NODE: logValueInNode ? '1' : '0' };
  delete env.SOP_CRASH_AT;
  delete env.SOP_JOURNAL;
  if (crashAt) env.SOP_CRASH_AT = crashAt;
  if (journal) env.SOP_JOURNAL = journal;
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], { env, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<{ marker: string; resolve: () => void; reject: (e: Error) => void }> = [];
  const seen = new Set<string>();
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => {
    const start = out.lastIndexOf('\n') + 1;
    out += chunk;
    for (const line of out.slice(start).split('\n').slice(0, -1)) seen.add(line);
    for (const w of waiters.splice(0)) {
      if (seen.has(w.marker)) w.resolve();
      else waiters.push(w);
    }
    // A marker that never comes (a crash point the child's commit mode never reaches) must fail
    // the test, not grow the output until this process runs out of memory.
    if (out.length > MAX_CHILD_OUTPUT && waiters.length > 0) {
      proc.kill('SIGKILL');
      for (const w of waiters.splice(0)) w.reject(new Error(`child printed ${out.length} bytes without ${w.marker}`));
    }
  });
  proc.stderr!.on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('close', (code, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`child exited (${code ?? signal}) before ${w.marker}\n${describeExit(out, err)}`));
      resolve({ code, signal });
    });
  });
  return {
    proc,
    exited,
    waitFor: (marker) =>
      new Promise<void>((resolve, reject) => {
        if (seen.has(marker)) return resolve();
        if (proc.exitCode !== null || proc.signalCode !== null) return reject(new Error(`child already exited before ${marker}`));
        waiters.push({ marker, resolve, reject });
      }),
    lines: () => out.split('\n').filter((l) => l.length > 0),
    stderr: () => err,
  };
}

function describeExit(out: string, err: string): string {
  const errLines = out.split('\n').filter((l) => l.startsWith('ERR '));
  return [...errLines, err.slice(-3000)].join('\n');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Expected state

interface Parsed {
  acked: Op[];
  pending: Op[];
  lastPoint: string | null;
  killLine: string | null;
  recovery: string | null;
}

function parseLines(lines: string[]): Parsed {
  const tried = new Map<number, Op>();
  const acked: Op[] = [];
  let lastPoint: string | null = null;
  let killLine: string | null = null;
  let recovery: string | null = null;
  for (const line of lines) {
    const space = line.indexOf(' ');
    const tag = space < 0 ? line : line.slice(0, space);
    const rest = space < 0 ? '' : line.slice(space + 1);
    if (tag === 'TRY') {
      const op = JSON.parse(rest) as Op;
      tried.set(op.op, op);
    } else if (tag === 'ACK') {
      const op = JSON.parse(rest) as Op;
      assert.ok(tried.delete(op.op), `ACK without TRY: ${line}`);
      acked.push(op);
    } else if (tag === 'P') lastPoint = rest;
    else if (tag === 'KILL') killLine = rest;
    else if (tag === 'OPEN') recovery = rest;
    else if (tag === 'ERR') assert.fail(`child failed: ${rest}`);
  }
  const pending = [...tried.values()];
  for (const w of ['init', 'bank', 'log']) assert.ok(pending.filter((o) => o.w === w).length <= 1, `more than one ${w} op in flight`);
  return { acked, pending, lastPoint, killLine, recovery };
}

function applyTransfer(balances: number[], [from, to, amount]: Transfer): void {
  balances[from]! -= amount;
  balances[to]! += amount;
}

function applyLogOp(log: Map<number, LogValue>, op: Extract<Op, { w: 'log' }>): void {
  for (const [n, len] of op.add) {
    assert.ok(!log.has(n), `op ${op.op} adds existing key ${n}`);
    log.set(n, addedValue(n, len));
  }
  for (const n of op.del) assert.ok(log.delete(n), `op ${op.op} removes missing key ${n}`);
  for (const [n, len] of op.upd) {
    assert.ok(log.has(n), `op ${op.op} updates missing key ${n}`);
    log.set(n, updatedValue(n, len));
  }
}

function sameLog(a: Map<number, LogValue>, b: Map<number, LogValue>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w || w.n !== v.n || w.pad !== v.pad) return false;
  }
  return true;
}

function logDiff(actual: Map<number, LogValue>, expected: Map<number, LogValue>): string {
  const missing = [...expected.keys()].filter((k) => !actual.has(k));
  const extra = [...actual.keys()].filter((k) => !expected.has(k));
  const wrong = [...expected.keys()].filter((k) => actual.has(k) && JSON.stringify(actual.get(k)) !== JSON.stringify(expected.get(k)));
  return `missing ${JSON.stringify(missing.slice(0, 30))} (${missing.length}), extra ${JSON.stringify(extra.slice(0, 30))} (${extra.length}), wrong values ${JSON.stringify(wrong.slice(0, 30))} (${wrong.length})`;
}

// ---------------------------------------------------------------------------------------------
// Verification of one crash

interface Stats {
  kills: number;
  recoveryKills: number;
  pendingSeen: number;
  pendingApplied: number;
  acked: number;
  redone: number;
  undone: number;
  cleaned: number;
  lastPoints: Map<string, number>;
}

const newStats = (): Stats => ({ kills: 0, recoveryKills: 0, pendingSeen: 0, pendingApplied: 0, acked: 0, redone: 0, undone: 0, cleaned: 0, lastPoints: new Map() });

async function readState(db: Database): Promise<{ balances: number[]; log: Map<number, LogValue> }> {
  const balances: number[] = [];
  const log = new Map<number, LogValue>();
  await db.transaction('read', async (tx) => {
    const accounts = await db.openBtree<number, Account>(tx, ACCOUNTS);
    let i = 0;
    for await (const [k, v] of accounts.range()) {
      assert.equal(k, i++, 'account keys must be exactly 0..19 in order');
      balances.push(v.balance);
    }
    assert.equal(balances.length, ACCOUNT_COUNT, 'account count');
    assert.equal(accounts.count, balances.length, 'accounts.count equals a full scan');
    const logStore = await db.openBtree<number, LogValue>(tx, LOG);
    let prev = -Infinity;
    for await (const [k, v] of logStore.range()) {
      assert.ok(k > prev, `log keys out of order: ${k} after ${prev}`);
      prev = k;
      log.set(k, v);
    }
    assert.equal(logStore.count, log.size, 'log.count equals a full scan');
  });
  return { balances, log };
}

/**
 * Opens the folder (recovery), checks it against the model and the child's lines, writes a
 * little more, closes. Returns the model of what the folder now holds.
 */
async function verifyAfterCrash(
  folder: string,
  logValueInNode: boolean,
  model: Model,
  lines: string[],
  stats: Stats,
  context: string,
): Promise<Model> {
  const parsed = parseLines(lines);
  const db = await Database.open({ folder });
  try {
    stats.redone += db.recovery.redone;
    stats.undone += db.recovery.undone;
    stats.cleaned += db.recovery.cleaned;
    stats.acked += parsed.acked.length;
    stats.pendingSeen += parsed.pending.length;
    assert.deepEqual(readdirSync(join(folder, 'translogs')).filter((n) => !n.startsWith('journal.')) /* the journal file and its checkpoint mark stay (JNL-3) */, [], `${context}: recovery left logs behind`);
    assert.deepEqual(
      readdirSync(join(folder, 'stores')).filter((n) => n.startsWith('.')),
      [],
      `${context}: hidden store folders left behind`,
    );

    const stores = (await db.listStores()).map((s) => s.name).filter((n) => n === ACCOUNTS || n === LOG);
    const initAcked = parsed.acked.some((o) => o.w === 'init');
    const initPending = parsed.pending.some((o) => o.w === 'init');
    let next: Model;
    if (!model.stores) {
      if (initAcked) assert.equal(stores.length, 2, `${context}: ACKed init but stores are ${JSON.stringify(stores)}`);
      else if (!initPending) assert.equal(stores.length, 0, `${context}: stores appeared without an init`);
      else assert.ok(stores.length === 0 || stores.length === 2, `${context}: half an init: ${JSON.stringify(stores)}`);
      if (stores.length === 0) {
        assert.equal(parsed.acked.length, 0, `${context}: ACKs without stores`);
        // New writes succeed (in a probe store, so that the next child creates the real ones).
        await db.transaction('write', async (tx) => {
          const probe = await db.newBtree<number, string>(tx, 'probe', { valueInNode: logValueInNode });
          assert.ok(await probe.add(1, 'one'));
        });
        assert.equal((await db.checkStore('probe')).count, 1);
        assert.ok(await db.removeBtree('probe'));
        return model;
      }
      if (initPending) stats.pendingApplied++;
      next = { stores: true, balances: new Array<number>(ACCOUNT_COUNT).fill(INITIAL_BALANCE), log: new Map() };
    } else {
      assert.equal(stores.length, 2, `${context}: a store vanished: ${JSON.stringify(stores)}`);
      next = { stores: true, balances: [...model.balances], log: new Map(model.log) };
    }

    for (const op of parsed.acked) {
      if (op.w === 'bank') applyTransfer(next.balances, op.xfer);
      if (op.w === 'log') {
        applyLogOp(next.log, op);
        if (op.xfer) applyTransfer(next.balances, op.xfer);
      }
    }

    const actual = await readState(db);
    assert.equal(
      actual.balances.reduce((a, b) => a + b, 0),
      TOTAL,
      `${context}: bank total not conserved: ${JSON.stringify(actual.balances)}`,
    );

    // The log: exactly the ACKed state, or that plus the whole in-flight log op.
    const pendingLog = parsed.pending.find((o): o is Extract<Op, { w: 'log' }> => o.w === 'log');
    let logApplied = false;
    if (!sameLog(actual.log, next.log)) {
      assert.ok(pendingLog, `${context}: log differs from the ACKed state and nothing was in flight: ${logDiff(actual.log, next.log)}`);
      const withPending = new Map(next.log);
      applyLogOp(withPending, pendingLog);
      assert.ok(
        sameLog(actual.log, withPending),
        `${context}: log is neither the ACKed state nor it plus in-flight op ${pendingLog.op} (partial transaction?)\n` +
          `vs ACKed: ${logDiff(actual.log, next.log)}\nvs ACKed+pending: ${logDiff(actual.log, withPending)}`,
      );
      next.log = withPending;
      logApplied = true;
      stats.pendingApplied++;
    }
    if (logApplied && pendingLog?.xfer) applyTransfer(next.balances, pendingLog.xfer);

    // The accounts: ACKed transfers, the in-flight log op's transfer iff its log part is there, and maybe the in-flight bank op.
    const pendingBank = parsed.pending.find((o): o is Extract<Op, { w: 'bank' }> => o.w === 'bank');
    if (JSON.stringify(actual.balances) !== JSON.stringify(next.balances)) {
      const withBank = [...next.balances];
      if (pendingBank) applyTransfer(withBank, pendingBank.xfer);
      assert.ok(
        pendingBank && JSON.stringify(actual.balances) === JSON.stringify(withBank),
        `${context}: balances ${JSON.stringify(actual.balances)} match neither ACKed ${JSON.stringify(next.balances)} nor ACKed + in-flight transfer ` +
          `${JSON.stringify(pendingBank?.xfer)}; in-flight log op: ${JSON.stringify(pendingLog ?? null)} (applied: ${logApplied})`,
      );
      next.balances = withBank;
      stats.pendingApplied++;
    }

    for (const name of [ACCOUNTS, LOG]) {
      const check = await db.checkStore(name);
      assert.equal(check.count, name === ACCOUNTS ? ACCOUNT_COUNT : next.log.size, `${context}: checkStore(${name}).count`);
      assert.equal(check.orphanBlobs, 0, `${context}: checkStore(${name}) found ${check.orphanBlobs} orphan blobs`);
    }

    // New writes succeed.
    const n = Math.max(-1, ...next.log.keys()) + 1;
    await db.transaction('write', async (tx) => {
      const accounts = await db.openBtree<number, Account>(tx, ACCOUNTS);
      assert.ok(await accounts.find(0));
      await accounts.updateCurrentValue({ balance: (await accounts.getCurrentValue())!.balance - 1 });
      assert.ok(await accounts.find(1));
      await accounts.updateCurrentValue({ balance: (await accounts.getCurrentValue())!.balance + 1 });
      const log = await db.openBtree<number, LogValue>(tx, LOG);
      assert.ok(await log.add(n, addedValue(n, 7)));
    });
    applyTransfer(next.balances, [0, 1, 1]);
    next.log.set(n, addedValue(n, 7));
    return next;
  } finally {
    await db.close();
  }
}

// ---------------------------------------------------------------------------------------------

function tempFolder(label: string): string {
  return mkdtempSync(join(tmpdir(), `sop-crash-${label}-`));
}

function countPoint(stats: Stats, name: string): void {
  stats.lastPoints.set(name, (stats.lastPoints.get(name) ?? 0) + 1);
}

const fmt = (m: Map<string, number>): string => [...m].map(([k, v]) => `${k}=${v}`).join(' ');

describe('crash: SIGKILL of a writing process, then recovery (ACID-1, ACID-3, LOG-1, LOG-3, LOG-4, REC-1)', function () {
  this.timeout(0);
  const folders: string[] = [];

  after(() => {
    if (process.env.SOP_KEEP === '1') return console.log(`    kept: ${folders.join(' ')}`);
    for (const f of folders) rmSync(f, { recursive: true, force: true });
  });

  it(`survives ${RANDOM_KILLS} kills at random times (ACID-1, ACID-3, REC-1..REC-4, STRUCT-3)`, async () => {
    console.log(`    crash seed ${SEED} (SOP_CRASH_SEED=${SEED} to replay)`);
    const rnd = prng(SEED);
    const started = Date.now();
    // Three folders: the log store keeps values in separate blobs in one, inside nodes in the
    // other two; the third commits in journal mode, checkpointing every 4 records and appending
    // with blocking system calls (JNL-1..JNL-4).
    const runs = [
      { folder: tempFolder('blob'), logValueInNode: false, journal: undefined, model: emptyModel() },
      { folder: tempFolder('vin'), logValueInNode: true, journal: undefined, model: emptyModel() },
      { folder: tempFolder('journal'), logValueInNode: true, journal: '4b', model: emptyModel() },
    ];
    folders.push(...runs.map((r) => r.folder));
    const stats = newStats();
    for (let round = 0; round < RANDOM_KILLS; round++) {
      const run = runs[round % runs.length]!;
      const childSeed = randInt(rnd, 1, 2 ** 30);
      const duringRecovery = round >= runs.length && rnd() < 0.1;
      const delay = duringRecovery ? randInt(rnd, 0, 15) : randInt(rnd, 20, 400);
      const context = `round ${round} (seed ${SEED}, child seed ${childSeed}, ${duringRecovery ? 'at open' : 'after READY'} +${delay} ms, folder ${run.folder})`;
      const child = startChild(run.folder, childSeed, run.logValueInNode, undefined, run.journal);
      try {
        await withTimeout(child.waitFor(duringRecovery ? 'OPENING' : 'READY'), CHILD_TIMEOUT_MS, `${context}: child start`);
        await sleep(delay);
      } finally {
        child.proc.kill('SIGKILL');
      }
      const exit = await child.exited;
      assert.equal(exit.signal, 'SIGKILL', `${context}: child exited by itself (${exit.code})\n${describeExit(child.lines().join('\n'), child.stderr())}`);
      stats.kills++;
      if (duringRecovery) stats.recoveryKills++;
      const parsed = parseLines(child.lines());
      countPoint(stats, parsed.lastPoint ?? (child.lines().includes('READY') ? '(no point yet)' : '(before READY)'));
      run.model = await verifyAfterCrash(run.folder, run.logValueInNode, run.model, child.lines(), stats, context);
    }
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `    random kills: ${stats.kills} (${stats.recoveryKills} during open/recovery) in ${secs}s; ACKed commits ${stats.acked}; ` +
        `in-flight ${stats.pendingSeen}, found applied ${stats.pendingApplied}; recovery redone ${stats.redone} undone ${stats.undone} cleaned ${stats.cleaned}; ` +
        `log sizes ${runs.map((r) => r.model.log.size).join('/')}`,
    );
    console.log(`    last point reached before each kill: ${fmt(stats.lastPoints)}`);
  });

  it('survives a kill at every named commit and cow point (ACID-1, COW-3, REC-2, STORE-3, JNL-1..JNL-4)', async () => {
    const rnd = prng(SEED ^ 0x5eed);
    const started = Date.now();
    const stats = newStats();
    const perPoint = new Map<string, number>();
    for (const [index, name] of POINTS.entries()) {
      const logValueInNode = index % 2 === 1;
      const folder = tempFolder(name.replace(/\./g, '-'));
      folders.push(folder);
      let model = emptyModel();
      const hits = name === 'store.afterCreate' ? [1, 2] : POINT_HITS;
      for (const n of hits) {
        const childSeed = randInt(rnd, 1, 2 ** 30);
        const context = `${name}:${n} (child seed ${childSeed}, log valueInNode ${logValueInNode}, folder ${folder})`;
        // Journal points are reached in journal mode only; 2 records per checkpoint reach them often.
        const child = startChild(folder, childSeed, logValueInNode, `${name}:${n}`, name.startsWith('journal.') ? '2' : undefined);
        let exit: { code: number | null; signal: NodeJS.Signals | null };
        try {
          exit = await withTimeout(child.exited, CHILD_TIMEOUT_MS, `${context}: point never reached`);
        } finally {
          child.proc.kill('SIGKILL');
        }
        const parsed = parseLines(child.lines());
        assert.equal(exit.signal, 'SIGKILL', `${context}: child exited by itself (${exit.code})\n${describeExit(child.lines().join('\n'), child.stderr())}`);
        assert.equal(parsed.killLine, `${name}:${n}`, `${context}: killed elsewhere`);
        stats.kills++;
        perPoint.set(name, (perPoint.get(name) ?? 0) + 1);
        model = await verifyAfterCrash(folder, logValueInNode, model, child.lines(), stats, context);
      }
    }
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `    point kills: ${stats.kills} in ${secs}s; ACKed commits ${stats.acked}; in-flight ${stats.pendingSeen}, found applied ${stats.pendingApplied}; ` +
        `recovery redone ${stats.redone} undone ${stats.undone} cleaned ${stats.cleaned}`,
    );
    console.log(`    kills per point: ${fmt(perPoint)}`);
  });
});
