/**
 * Trace conformance: replays an ITF trace of spec/commit.qnt (module commit_ok) step by step
 * against the real engine on a deterministic Machine, and checks after every step that what
 * the code observably did matches the model's state:
 *
 * | model action              | engine                                                         |
 * |---------------------------|----------------------------------------------------------------|
 * | begin(s)                  | beginTransaction('write'), openBtree n1 then n2               |
 * | read(s, i)                | find(i) + getCurrentValue(): value must equal the model's     |
 * | write(s, i)               | update(i, value): true                                         |
 * | rollback(s)               | rollback()                                                     |
 * | commitNoWrites(s)         | commit(): ok or CONFLICT as the model says                     |
 * | commitLock(s)             | commit() runs to point commit.afterPrepareLog, or CONFLICT     |
 * | commitBlobs / commitPoint | ... to commit.afterBlobs / commit.afterPlg                     |
 * | flipCow/Write/Sync        | ... to cow.afterCowSync / cow.afterSectorWrite / ...SectorSync |
 * | commitDone                | ... through commit.afterFlip, afterStoreInfo to afterDone     |
 * | commitCleanup / commitAck | ... to commit.afterCleanup / commit() resolves                 |
 * | crash                     | power loss (a crash during model recovery first runs a partial |
 * |                           | open that loses power after k I/O operations)                  |
 * | recoverStart..recoverClean| nothing: recovery is one call in the engine                    |
 * | recoverDone               | Database.open (recovery) must succeed                          |
 *
 * After every step with the database up, the published value of every item and the published
 * handle version of every node (relative to the state after setup) must equal the model's
 * (spec ACID-1, ACID-2, ACID-3, REC-2, TX-7 through the commit outcomes).
 */
import type { Btree } from '../../src/database/btree.js';
import type { Database } from '../../src/database/database.js';
import { SopError } from '../../src/errors/sop-error.js';
import type { Transaction } from '../../src/txn/transaction.js';
import { type ItfTrace, type Value, map, num, rec, str } from './itf.js';
import { Machine } from './machine.js';

/** The model's constants (spec/commit.qnt): item -> node, and nodes in plan order. */
export const NODE_OF: Readonly<Record<string, string>> = { a: 'n1', b: 'n1', c: 'n2' };
export const NODES = ['n1', 'n2'] as const;
export const ITEMS = ['a', 'b', 'c'] as const;

/** Points each model step of a commit runs through (all but the last) and stops at (the last). */
const COMMIT_STEPS: Readonly<Record<string, readonly string[]>> = {
  commitLock: ['commit.afterPrepareLog'],
  commitBlobs: ['commit.afterBlobs'],
  commitPoint: ['commit.afterPlg'],
  flipCow: ['cow.afterCowSync'],
  flipWrite: ['cow.afterSectorWrite'],
  flipSync: ['cow.afterSectorSync'],
  commitDone: ['commit.afterFlip', 'commit.afterStoreInfo', 'commit.afterDone'],
  commitCleanup: ['commit.afterCleanup'],
  commitAck: ['settled'],
  commitNoWrites: ['settled'],
};
const RECOVERY_STEPS = new Set(['recoverStart', 'recoverRedo', 'redoCow', 'redoWrite', 'redoSync', 'recoverClean']);
const STALL_MS = 10_000;

type Outcome = { ok: true } | { ok: false; error: unknown };

/** One commit() call, paused at named points and resumed one model step at a time. */
class CommitRunner {
  private resumeFn: (() => void) | null = null;
  private wakeFn: (() => void) | null = null;
  private started = false;
  pausedAt: string | null = null;
  outcome: Outcome | null = null;

  constructor(private readonly run: () => Promise<void>) {}

  onPoint(name: string): Promise<void> {
    this.pausedAt = name;
    const paused = new Promise<void>((resolve) => (this.resumeFn = resolve));
    this.wakeFn?.();
    return paused;
  }

  /** Lets the commit run to its next point; returns the point, 'settled' or 'stalled'. */
  async advance(): Promise<string> {
    if (this.outcome) return 'settled';
    const woke = new Promise<void>((resolve) => (this.wakeFn = resolve));
    if (!this.started) {
      this.started = true;
      this.run().then(
        () => this.settle({ ok: true }),
        (error: unknown) => this.settle({ ok: false, error }),
      );
    } else {
      const resume = this.resumeFn;
      this.resumeFn = null;
      this.pausedAt = null;
      resume?.();
    }
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), STALL_MS)));
    const result = await Promise.race([woke.then(() => 'woke' as const), stalled]);
    clearTimeout(timer);
    if (result === 'stalled') return 'stalled';
    return this.outcome ? 'settled' : this.pausedAt!;
  }

  private settle(outcome: Outcome): void {
    this.outcome = outcome;
    this.wakeFn?.();
  }
}

interface LiveTx {
  readonly tx: Transaction;
  readonly trees: Map<string, Btree<string, number>>;
  runner: CommitRunner | null;
}

export interface ReplayResult {
  readonly name: string;
  readonly steps: number;
  readonly divergence: string | null;
  readonly actions: Record<string, number>;
  readonly opens: number;
  readonly partialOpens: number;
  readonly checks: number;
}

class Divergence extends Error {}

function codeOf(error: unknown): string {
  if (SopError.is(error)) return error.code;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Map lookup by structural equality (ITF tuple keys decode to arrays). */
function lookup(m: Map<Value, Value>, key: Value): Value | undefined {
  const wanted = JSON.stringify(key);
  for (const [k, v] of m) if (JSON.stringify(k) === wanted) return v;
  return undefined;
}

/** The model's published handle version and item values (v.pub, g.blobData). */
function modelPublished(state: Record<string, Value>): { vers: Map<string, number>; vals: Map<string, number> } {
  const pub = map(rec(state.v).pub);
  const blobData = map(rec(state.g).blobData);
  const vers = new Map<string, number>();
  const vals = new Map<string, number>();
  for (const node of NODES) vers.set(node, num(rec(pub.get(node)).ver));
  for (const item of ITEMS) {
    const handle = rec(pub.get(NODE_OF[item]!));
    const content = map(lookup(blobData, handle.blob!));
    vals.set(item, num(rec(content.get(item)).value));
  }
  return { vers, vals };
}

/** The published root handle version of a store (engine internals, read-only). */
async function rootVersion(db: Database, store: string): Promise<number> {
  const repo = (db as unknown as { repo?: { get(name: string): Promise<unknown> } }).repo;
  if (!repo) throw new Divergence('harness: Database has no repo (internals changed): cannot read handle versions');
  const s = (await repo.get(store)) as { info?: { rootId?: string }; registry?: { get(id: string): { version: number } | undefined } } | null;
  const version = s?.info?.rootId ? s.registry?.get(s.info.rootId)?.version : undefined;
  if (version === undefined) throw new Divergence(`harness: no published root handle for store ${store}`);
  return version;
}

export class Replayer {
  private readonly machine: Machine;
  private readonly txs = new Map<number, LiveTx>();
  private readonly baseline = new Map<string, number>();
  private current: CommitRunner | null = null;
  private recoverySteps = 0;
  private stepIndex = 0;
  private readonly actions: Record<string, number> = {};
  private opens = 0;
  private partialOpens = 0;
  private checks = 0;

  constructor(
    private readonly trace: ItfTrace,
    private readonly name: string,
    seed: number,
  ) {
    this.machine = new Machine(seed);
    this.machine.pointHook = (point) => this.current?.onPoint(point);
  }

  async run(): Promise<ReplayResult> {
    let divergence: string | null = null;
    try {
      await this.setup();
      for (this.stepIndex = 1; this.stepIndex < this.trace.states.length; this.stepIndex++) {
        await this.step(this.trace.states[this.stepIndex - 1]!, this.trace.states[this.stepIndex]!);
      }
    } catch (error) {
      const where = `${this.name} step ${this.stepIndex}`;
      const action = this.stepIndex < this.trace.states.length ? JSON.stringify(this.trace.states[this.stepIndex]!.lastAction) : '';
      divergence = `${where} ${action}: ${error instanceof Divergence ? error.message : `unexpected ${codeOf(error)}${error instanceof Error && !SopError.is(error) ? `\n${error.stack}` : ''}`}`;
    }
    this.machine.pointHook = null;
    return {
      name: this.name,
      steps: this.stepIndex - 1,
      divergence,
      actions: this.actions,
      opens: this.opens,
      partialOpens: this.partialOpens,
      checks: this.checks,
    };
  }

  /** The model's initial state: stores n1 {a: 0, b: 0} and n2 {c: 0}, each one root leaf. */
  private async setup(): Promise<void> {
    const db = await this.machine.open();
    if (!db) throw new Divergence('setup: the process died during the first open');
    await db.transaction('write', async (tx) => {
      const n1 = await db.newBtree<string, number>(tx, 'n1', { slotLength: 16 });
      await n1.add('a', 0);
      await n1.add('b', 0);
      const n2 = await db.newBtree<string, number>(tx, 'n2', { slotLength: 16 });
      await n2.add('c', 0);
    });
    for (const node of NODES) this.baseline.set(node, (await rootVersion(db, node)) - 1);
    await this.compare(this.trace.states[0]!);
  }

  private get db(): Database {
    const db = this.machine.db;
    if (!db) throw new Divergence('the model runs a transaction step while the engine is down');
    return db;
  }

  private liveTx(tid: number): LiveTx {
    const live = this.txs.get(tid);
    if (!live) throw new Divergence(`no live engine transaction for model tid ${tid}`);
    return live;
  }

  private async step(before: Record<string, Value>, after: Record<string, Value>): Promise<void> {
    const a = rec(after.lastAction);
    const name = str(a.name);
    const tid = num(a.tid);
    const item = str(a.item);
    const value = num(a.value);
    const outcome = str(a.outcome);
    this.actions[name] = (this.actions[name] ?? 0) + 1;
    const taken = after['mbt::actionTaken'];
    if (typeof taken === 'string' && taken !== name && !(name === 'crash' && taken === 'crashWith')) {
      throw new Divergence(`harness: mbt::actionTaken ${taken} but lastAction ${name}`);
    }

    switch (name) {
      case 'begin': {
        const tx = await this.db.beginTransaction('write', { maxTimeMs: 60_000 });
        const trees = new Map<string, Btree<string, number>>();
        for (const node of NODES) trees.set(node, await this.db.openBtree<string, number>(tx, node));
        this.txs.set(tid, { tx, trees, runner: null });
        break;
      }
      case 'read': {
        const tree = this.liveTx(tid).trees.get(NODE_OF[item]!)!;
        const found = await tree.find(item);
        const got = found ? await tree.getCurrentValue() : undefined;
        if (got !== value) throw new Divergence(`read ${item}: engine returned ${String(got)}, model ${value}`);
        break;
      }
      case 'write': {
        const tree = this.liveTx(tid).trees.get(NODE_OF[item]!)!;
        if (!(await tree.update(item, value))) throw new Divergence(`update ${item} returned false`);
        break;
      }
      case 'rollback':
        await this.liveTx(tid).tx.rollback();
        this.txs.delete(tid);
        break;
      case 'crash':
        await this.crash(str(before.sys));
        break;
      case 'recoverDone':
        await this.recover(false);
        break;
      default:
        if (RECOVERY_STEPS.has(name)) {
          this.recoverySteps++;
          if (name === 'recoverStart' && outcome === 'CORRUPT') await this.recover(true);
          break;
        }
        if (!(name in COMMIT_STEPS)) throw new Divergence(`harness: unknown model action ${name}`);
        await this.commitStep(name, tid, outcome);
    }
    if (str(after.sys) === 'up') await this.compare(after);
  }

  private async commitStep(name: string, tid: number, outcome: string): Promise<void> {
    const live = this.liveTx(tid);
    if (name === 'commitLock' || name === 'commitNoWrites') {
      if (live.runner) throw new Divergence(`harness: ${name} on a transaction already committing`);
      live.runner = new CommitRunner(() => live.tx.commit());
    }
    const runner = live.runner;
    if (!runner) throw new Divergence(`${name}: the engine transaction is not committing`);
    const expected = outcome === 'CONFLICT' ? ['settled'] : COMMIT_STEPS[name]!;
    this.current = runner;
    try {
      for (const point of expected) {
        const reached = await runner.advance();
        if (reached !== point) {
          const why = runner.outcome && !runner.outcome.ok ? ` (${codeOf(runner.outcome.error)})` : '';
          throw new Divergence(`${name}: model expects ${point}, engine reached ${reached}${why}`);
        }
      }
    } finally {
      this.current = null;
    }
    if (runner.outcome) {
      const got = runner.outcome.ok ? 'ok' : codeOf(runner.outcome.error);
      const want = outcome === 'CONFLICT' ? 'CONFLICT' : 'ok';
      if (got !== want) throw new Divergence(`${name}: commit() ended ${got}, model ${want}`);
      this.txs.delete(tid);
    }
    if (this.machine.clock.sleeps > 0) throw new Divergence(`${name}: the engine slept (lock backoff) where the model's locks were free`);
  }

  /** Power loss; during model recovery, first a partial open that dies after k I/O operations. */
  private async crash(sysBefore: string): Promise<void> {
    if (sysBefore === 'recovering') {
      // A recovery open of this folder takes about 35 (nothing to do) to 65 (a two-store redo) I/O operations.
      const k = 1 + ((this.stepIndex * 7919 + this.recoverySteps * 31) % 64);
      const db = await this.machine.open(k);
      this.partialOpens++;
      if (db) this.machine.powerLoss();
    } else {
      this.machine.powerLoss();
    }
    this.txs.clear();
    this.current = null;
    this.recoverySteps = 0;
  }

  private async recover(expectCorrupt: boolean): Promise<void> {
    this.opens++;
    try {
      const db = await this.machine.open();
      if (!db) throw new Divergence('open: the process died without a crash in the model');
      if (expectCorrupt) throw new Divergence('open succeeded, the model expects CORRUPT (a torn sector without a live before-image)');
    } catch (error) {
      if (error instanceof Divergence) throw error;
      if (!(expectCorrupt && SopError.is(error, 'CORRUPT'))) throw new Divergence(`open failed: ${codeOf(error)} ${(error as Error).message}`);
    }
    this.recoverySteps = 0;
  }

  /** Published values and handle versions must equal the model's v.pub. */
  private async compare(state: Record<string, Value>): Promise<void> {
    const db = this.db;
    const model = modelPublished(state);
    const tx = await db.beginTransaction('nocheck');
    try {
      for (const item of ITEMS) {
        const tree = await db.openBtree<string, number>(tx, NODE_OF[item]!);
        const got = (await tree.find(item)) ? await tree.getCurrentValue() : undefined;
        if (got !== model.vals.get(item)) throw new Divergence(`published ${item} = ${String(got)}, model ${model.vals.get(item)}`);
      }
    } finally {
      await tx.rollback().catch(() => undefined);
    }
    for (const node of NODES) {
      const got = (await rootVersion(db, node)) - this.baseline.get(node)!;
      if (got !== model.vers.get(node)) throw new Divergence(`published version of ${node} = ${got}, model ${model.vers.get(node)}`);
    }
    this.checks++;
  }
}

export async function replayTrace(trace: ItfTrace, name: string, seed: number): Promise<ReplayResult> {
  return new Replayer(trace, name, seed).run();
}
