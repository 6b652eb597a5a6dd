import { CLAIM_STALE_MS } from '../src/cluster/claim-files.js';
import type { Database } from '../src/database/database.js';
import { SopError } from '../src/errors/sop-error.js';
import { CHECKERS, type ErasureView, type ReplicationView } from './checkers/index.js';
import type { Micro, Op } from './checkers/list-append.js';
import { EcDrives } from './ec-drives.js';
import { EventLoop } from './event-loop.js';
import { History, type Outcome } from './history.js';
import { Nemesis } from './nemesis.js';
import { type BeyondBudget, type RunOptions, type Scenario, describeScenario, scenario } from './options.js';
import { SeededSimRandom } from './random.js';
import { ReplDrives } from './repl-drives.js';
import { SimDisk } from './sim-disk.js';
import { FOLDER, SimNode } from './sim-node.js';
import type { ReinstateProgress } from '../src/replication/reinstate.js';
import { deterministicReedSolomon } from './sim-native.js';
import { SimRedis } from './sim-redis.js';
import * as w from './workload.js';
import { runSets, setsTxn } from './sets.js';

/** Commit steps a clustered process is killed at in the peer-death check (CLU-6). */
const PEER_DEATH_POINTS = ['commit.afterPrepareLog', 'commit.afterBlobs', 'commit.afterPlg', 'cow.afterCowSync', 'cow.afterSectorWrite', 'commit.afterFlip', 'commit.afterStoreInfo'] as const;
/** Virtual time the survivors may take to commit on a dead process's keys (liveness TTL 2 s, CLU-6). */
const PEER_DEATH_BUDGET_MS = 15_000;

/** Share of client steps that put or remove key ranges (sets.ts). */
const SETS_SHARE = 0.12;
import { LAYER_WORKLOADS, type LayerRun, type LayerWorkload } from './layers/index.js';

export interface RunResult {
  readonly seed: number;
  readonly scenario: string;
  readonly traceHash: string;
  readonly violations: string[];
  readonly transactions: { ok: number; fail: number; info: number };
  readonly faults: Record<string, number>;
  readonly crashPoints: Record<string, number>;
  readonly pointHits: Record<string, number>;
  readonly checked: string[];
  readonly events: number;
  readonly virtualMs: number;
  /** The last events of the run (only kept when it has violations). */
  readonly trace: string[];
  /** Clustered: virtual ms the survivors took to commit on a killed process's keys (CLU-6). */
  readonly peerDeathMs: number[];
}

const MAX_EVENTS = 3_000_000;
const LIVENESS_TXNS = 10;
const LIVENESS_BUDGET_MS = 120_000;
/**
 * maxTimeMs of a healed transaction. A claim file that a power loss left empty names nobody and
 * may be broken only after a process watched it unchanged for CLAIM_STALE_MS (CLU-2): a healed
 * commit may have to wait that long, so its bound must exceed it (10 s failed clustered seed
 * 1688641657 by 3 ms).
 */
const HEALED_MAX_TIME_MS = CLAIM_STALE_MS + 10_000;

/**
 * One simulated run (a seed): setup, a fault phase with concurrent clients and the nemesis, a
 * healing phase that must make progress within a bounded virtual time (liveness), then every
 * checker. Same seed and same code give the same trace hash.
 */
export async function runSeed(options: RunOptions): Promise<RunResult> {
  const root = new SeededSimRandom(options.seed);
  const loop = new EventLoop(root.fork('loop'), options.traceEvents);
  const s = scenario(root.fork('swarm'), options);
  const redis = s.useRedis ? new SimRedis(loop, root.fork('redis')) : null;
  const disk = new SimDisk('d0', root.fork('disk'));
  const erasureCoding = s.erasure ? { dataShards: s.erasure.dataShards, parityShards: s.erasure.parityShards, drives: [...s.erasure.drives] } : undefined;
  const replica = s.replica ?? undefined;
  const open = { registryHashMod: s.registryHashMod, nodeCacheSize: s.nodeCacheSize, wrapFs: options.wrapFs, clustered: s.nodes > 1, erasureCoding, replica, ...(s.journal ? { journal: s.journal } : {}) };
  // Node 0 keeps the streams a standalone run always had; further nodes share its disk and Redis.
  const nodes = Array.from({ length: s.nodes }, (_, i) => new SimNode(`n${i}`, loop, root.fork(i === 0 ? 'node' : `node${i}`), disk, redis, open));
  for (const node of nodes) node.group = nodes;
  const ec = s.erasure ? new EcDrives(disk, s.erasure) : null;
  const repl = s.replica ? new ReplDrives(disk, [FOLDER, s.replica]) : null;
  const run = new Run(loop, root.fork('run'), s, nodes, redis, options, ec, repl);
  // Reed-Solomon runs in the thread pool: with erasure coding, its completions are put in call order.
  const undoNative = ec ? deterministicReedSolomon() : () => undefined;
  try {
    let finished = false;
    const main = run.main().catch((error: unknown) => {
      if (!(error instanceof RunAborted)) run.violations.push(`simulation error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }).finally(() => (finished = true));
    const completed = await loop.run(() => finished, MAX_EVENTS);
    if (!finished) run.violations.push(completed ? 'liveness: the simulation stopped making progress (deadlock)' : `liveness: no end after ${MAX_EVENTS} events`);
    else await main;
    return run.result(options.seed, loop);
  } finally {
    undoNative();
  }
}

/** Stops a run whose node cannot continue; the violation is already recorded. */
class RunAborted extends Error {}

/** A client step given up because its node could not open during the fault phase. */
class StepSkipped extends Error {}

class Run {
  readonly history = new History();
  readonly violations: string[] = [];
  readonly checked: string[] = [];
  private readonly nemesis: Nemesis;
  private stepsLeft: number;
  private nextAppend = 1;
  private nextBlob = 0;
  private readonly restarting = new Map<SimNode, Promise<Database>>();
  /** Node 0: setup, healing, liveness and the final checks run there. */
  private readonly node: SimNode;

  constructor(
    private readonly loop: EventLoop,
    private readonly random: SeededSimRandom,
    private readonly s: Scenario,
    private readonly nodes: readonly SimNode[],
    redis: SimRedis | null,
    private readonly options: RunOptions,
    private readonly ec: EcDrives | null,
    private readonly repl: ReplDrives | null = null,
  ) {
    this.node = nodes[0]!;
    this.nemesis = new Nemesis(loop, random.fork('nemesis'), s, nodes, redis, ec, () => this.operatorRepair(), repl, () => this.operatorReinstate());
    this.stepsLeft = options.steps;
    this.clients = options.clients;
    // The layer workloads draw from a stream of their own, derived from the seed without a draw
    // from the run's stream, so runs without them keep their traces.
    const layerRandom = new SeededSimRandom((options.seed ^ 0x6c617972) >>> 0);
    this.layers = LAYER_WORKLOADS.filter((l) => layerRandom.chance(0.5, `layer.${l.name}`)).map((l) => ({ workload: l, run: l.start(layerRandom.fork(l.name)) }));
    this.layerRandom = layerRandom;
  }

  /** The layer workloads drawn for this run (sim/layers/). */
  private readonly layers: Array<{ workload: LayerWorkload; run: LayerRun }>;
  private readonly layerRandom: SeededSimRandom;

  private readonly clients: number;

  async main(): Promise<void> {
    await w.setup(await this.up(this.node), this.s.workload);
    for (const layer of this.layers) await layer.run.setup(await this.up(this.node));
    for (const node of this.nodes) {
      node.faultsActive = true;
      // Store creations are rare steps: when they are the focus, crash at every one reached.
      const focusProbability = this.s.focusPoint === 'store.afterCreate' ? 1 : 0.25;
      node.plan = { atPoint: this.s.crashAtPoint, atIo: this.s.crashAtIo, slowIo: 0, focus: this.s.focusPoint, focusProbability };
    }
    const nemesis = this.nemesis.run();
    if (this.options.beyondBudget) void this.beyondBudget(this.options.beyondBudget);
    await Promise.all(Array.from({ length: this.clients }, (_, p) => this.client(p)));
    this.nemesis.heal();
    await nemesis;
    const db = await this.heal();
    if (this.repl) await this.reinstateAfterHealing(db);
    if (this.ec) await this.repairAfterHealing(db);
    await this.liveness(db);
    // A drive wiped (replaced) under a running process is only noticed by the first call that
    // touches a file it lost, which may come as late as the liveness phase: the operator's
    // reinstate then runs once more, and the checkers judge the replicas after it.
    if (this.repl && db.replicationStatus()?.passiveState !== 'in-sync') await this.reinstateAfterHealing(db);
    await Promise.all(this.asides);
    await this.check(db);
  }

  /**
   * The node's database, (re)starting it after a crash; crashes during open are retried. A
   * node that cannot open 50 times in a row lost its data or its wits: the run stops there.
   */
  private async up(node: SimNode): Promise<Database> {
    for (let failures = 0, faulted = this.nemesis.active; ; ) {
      if (node.db) return node.db;
      let starting = this.restarting.get(node);
      if (!starting) {
        starting = this.startOnce(node).finally(() => this.restarting.delete(node));
        this.restarting.set(node, starting);
      }
      const outcome = await starting.then(
        (db) => db,
        (error: unknown) => error,
      );
      if (outcome && typeof outcome === 'object' && 'beginTransaction' in outcome) return outcome as Database;
      // Failures counted during the faults do not count after healing: only opens the healed
      // world refuses do (seed 344285714 --nodes 3: 49 opens refused by Redis cut-offs, then the
      // fault phase ended, and the next failure, of an open begun before, ended the run).
      if (faulted && !this.nemesis.active) [failures, faulted] = [0, false];
      if (++failures >= 50) {
        // While the nemesis still injects faults, a node that keeps failing to open is waiting
        // out disk outages, not stuck: its client skips this step. After healing it is a violation.
        if (this.nemesis.active) throw new StepSkipped();
        const why = outcome instanceof Error ? outcome.message : String(outcome);
        this.violations.push(`recovery: node ${node.name} could not open its folder (${why})`);
        throw new RunAborted(why);
      }
    }
  }

  private async startOnce(node: SimNode): Promise<Database> {
    await this.loop.sleep(1 + this.random.float('restart.delay') * 20, 'restart');
    const gate = node.gate;
    if (this.repl) this.repl.opening = true; // standalone: the one process (ReplDrives.opening)
    const opened = await Promise.race([node.start().then((db) => db, (e: unknown) => e), gate.killed.then(() => null)]);
    if (opened === null) throw new Error('crashed while opening');
    if (!(opened instanceof Object) || !('beginTransaction' in opened)) {
      if (!(opened instanceof SopError)) this.history.untyped.push(`open: ${String(opened)}`);
      throw opened;
    }
    this.incarnations++;
    if (this.repl) this.repl.opening = false;
    this.judgeReplay(opened as Database);
    this.observeReplication(opened as Database);
    return opened as Database;
  }

  /**
   * A leaf journal replay could not rebuild (its base file was damaged) is loss the nemesis must
   * have caused: rot at rest of that very blob, or of the base of a leaf replay could not rebuild
   * before it. Anything else is a bug the report would hide (JNL-4; seed 1862000331 lost a base
   * to a purge on a mark that was not durable).
   */
  private judgeReplay(db: Database): void {
    const rotted = [...(this.repl?.everRotted ?? []), ...(this.ec?.everRotted ?? [])];
    const lost = new Set<string>();
    for (const d of db.journalReplay.damaged) {
      lost.add(d.leaf);
      if (lost.has(d.base) || rotted.some((path) => path.includes(d.base))) continue;
      this.violations.push(`journal: replay could not rebuild leaf ${d.leaf} of store ${d.store}, and the nemesis never damaged its base ${d.base} (${d.why})`);
    }
  }

  private async client(process: number): Promise<void> {
    const node = this.nodes[process % this.nodes.length]!;
    while (this.stepsLeft > 0) {
      this.stepsLeft--;
      const db = await this.up(node).catch((error: unknown) => {
        if (error instanceof StepSkipped) return null;
        throw error;
      });
      if (!db) continue;
      const gate = node.gate;
      await Promise.race([this.step(db, process, node), gate.killed]);
      if (node.db === db) this.observeReplication(db);
      if (node.db === db && db.failure) node.restartProcess(); // an operator restarts a fail-stopped process (REC-5)
      await this.loop.sleep(this.random.float('think') * 3, 'think');
    }
  }

  /** One workload transaction, recorded with its outcome ('info' if the node died during it). */
  private async step(db: Database, process: number, node: SimNode): Promise<void> {
    const r = this.random.float('mix');
    const gate = node.gate;
    const guard = async (mode: 'write' | 'read' | 'nocheck', body: Parameters<typeof w.inTransaction>[2]): Promise<Outcome> => {
      const outcome = await Promise.race([w.inTransaction(db, mode, body, this.history), gate.killed.then(() => 'info' as const)]);
      this.history.count(outcome);
      return outcome;
    };
    const layer = this.pickLayer();
    if (layer) return layer.run.step(db, guard);
    if (r < SETS_SHARE) {
      const op = setsTxn(this.random, this.history.nextIndex(), this.loop.now);
      this.history.sets.push(op);
      op.type = await guard('write', (tx) => runSets(db, tx, op));
      op.completeTime = this.loop.now;
      return;
    }
    await this.classicStep(db, process, node, (r - SETS_SHARE) / (1 - SETS_SHARE), guard);
  }

  /** The workloads every run had before removals joined (list-append, bank, blobs, stores); `r` in [0, 1). */
  private async classicStep(db: Database, process: number, node: SimNode, r: number, guard: (mode: 'write' | 'read' | 'nocheck', body: Parameters<typeof w.inTransaction>[2]) => Promise<Outcome>): Promise<void> {
    if (r < 0.6) {
      const txn = w.listAppendTxn(this.random, this.s.workload, () => this.nextAppend++);
      const op: Op = { process, index: this.history.nextIndex(), type: 'info', txn, invokeTime: this.loop.now };
      this.history.lists.push(op);
      op.type = await guard('write', (tx) => w.runListAppend(db, tx, txn));
      op.completeTime = this.loop.now;
      if (op.type !== 'ok') for (const m of txn) if (m.f === 'r') m.value = null;
    } else if (r < 0.78) {
      const outcome = await guard('write', (tx) => w.transfer(db, tx, this.random, this.s.workload));
      this.history.bank.push({ kind: 'transfer', outcome });
    } else if (r < 0.88) {
      const mode = this.random.chance(0.8, 'audit.mode') ? 'read' : 'nocheck';
      let sum = -1;
      const outcome = await guard(mode, async (tx) => void (sum = await w.audit(db, tx)));
      this.history.bank.push({ kind: 'audit', outcome, sum, mode });
    } else if (r < 0.93) {
      const n = this.nextBlob++;
      await guard('write', (tx) => w.writeBlob(db, tx, n));
    } else if (r < 0.97) {
      const n = this.random.int(Math.max(1, this.nextBlob), 'blob.read');
      const degraded = this.ec !== null && (this.ec.offline().length > 0 || this.ec.degradedBlobs().length > 0);
      const wrongBefore = this.history.wrongReads.length;
      await guard('read', (tx) => w.readBlob(db, tx, n, this.history));
      if (degraded) {
        this.history.ec.degradedReads++;
        this.history.ec.wrongWhileDegraded.push(...this.history.wrongReads.slice(wrongBefore));
      }
    } else {
      await this.storeStep(db, guard, node);
    }
  }

  /** A layer workload for this step, by the weights of those drawn for the run, or null. */
  private pickLayer(): { workload: LayerWorkload; run: LayerRun } | null {
    if (this.layers.length === 0) return null;
    let r = this.layerRandom.float('layer.mix');
    for (const layer of this.layers) {
      if (r < layer.workload.weight) return layer;
      r -= layer.workload.weight;
    }
    return null;
  }

  /** Creates a scratch store, or removes one created earlier (STORE-1..STORE-3). */
  private async storeStep(db: Database, guard: (mode: 'write', body: Parameters<typeof w.inTransaction>[2]) => Promise<Outcome>, node: SimNode): Promise<void> {
    const names = [...this.history.stores.keys()];
    // Removing a store other processes may have open is not supported in clustered mode yet
    // (README, "Clustered mode"): clustered runs only create stores.
    if (names.length > 0 && this.nodes.length === 1 && this.random.chance(0.3, 'store.remove')) {
      const name = this.random.pick(names, 'store.pick');
      const entry = this.history.stores.get(name)!;
      const gate = node.gate;
      const removed = await Promise.race([db.removeBtree(name).then((gone) => (gone ? ('ok' as const) : ('fail' as const)), () => 'info' as const), gate.killed.then(() => 'info' as const)]);
      entry.removed = entry.removed === 'ok' || removed === 'ok' ? 'ok' : removed === 'info' ? 'info' : entry.removed;
      return;
    }
    const name = `tmp${this.history.stores.size}`;
    const items = 1 + this.random.int(5, 'store.items');
    const entry = { created: 'info' as Outcome, removed: null as Outcome | null, items };
    this.history.stores.set(name, entry);
    entry.created = await guard('write', (tx) => w.createScratchStore(db, tx, name, items));
  }

  /**
   * Loses the whole drive (replaced by an empty one), misdirects one write, or replaces P+1
   * erasure-coded drives by empty ones, halfway through.
   */
  private async beyondBudget(kind: BeyondBudget): Promise<void> {
    while (this.stepsLeft > this.options.steps / 2) await this.loop.sleep(5, 'beyond.wait');
    this.nemesis.count(kind);
    if (kind === 'ec-drive-loss') {
      const devices = [...this.ec!.devices];
      for (let i = 0; i <= this.ec!.geometry.parityShards; i++) devices.splice(this.random.int(devices.length, 'beyond.ec.drive'), 1)[0]!.wipe();
      return;
    }
    if (kind === 'repl-both-drives') return this.bothReplicasLost();
    if (kind === 'misdirected-write') {
      for (let i = 0; i < 50; i++) {
        this.node.disk.armMisdirectedWrite();
        await this.loop.sleep(20, 'beyond.misdirect');
      }
      return;
    }
    this.node.disk.replaceWithEmpty();
    this.node.crash('drive-loss');
  }

  /**
   * Beyond what two replicas survive (spec REPL-2): both drives replaced by empty ones at once,
   * or the passive drive lost (offline until healing) and, once the engine took it out of
   * replication, the active drive replaced by an empty one. Either way acknowledged commits are
   * gone: the run must report it, never pass.
   */
  private async bothReplicasLost(): Promise<void> {
    const repl = this.repl!;
    if (this.random.chance(0.5, 'beyond.repl.both')) {
      for (const device of repl.devices) device.wipe();
      this.node.crash('repl-both-drives');
      return;
    }
    const active = repl.activeDrive();
    repl.devices[active === 0 ? 1 : 0].offline = true;
    for (let i = 0; i < 200 && repl.truth()?.passive === 'in-sync'; i++) await this.loop.sleep(5, 'beyond.repl.wait');
    this.nemesis.count('repl-active-lost-out-of-sync');
    repl.devices[repl.activeDrive()].wipe();
    this.node.crash('repl-both-drives');
  }

  /** Healing: faults are off; a process that fail-stopped or crashed is started again. */
  private async heal(): Promise<Database> {
    for (const node of this.nodes) {
      const db = await this.up(node);
      try {
        await db.beginTransaction('write').then((tx) => tx.rollback());
      } catch (error) {
        if (!SopError.is(error, 'UNAVAILABLE')) throw error;
        node.restartProcess();
        await this.up(node);
      }
    }
    if (this.nodes.length > 1) {
      await this.peerDeath();
      await this.settleCluster();
    }
    return this.up(this.node);
  }

  /**
   * Clustered, faults healed (CLU-6): one process dies in the middle of a commit that holds
   * every list key; the others must then commit on each of those keys within
   * PEER_DEATH_BUDGET_MS of virtual time (its locks' TTL is the default maxTimeMs, 15 min).
   */
  private async peerDeath(): Promise<void> {
    const [survivor, victim] = [this.nodes[0]!, this.nodes[1]!];
    const [survivorDb, victimDb] = [await this.up(survivor), await this.up(victim)];
    const point = this.random.pick(PEER_DEATH_POINTS, 'peer.point');
    victim.killAtNextPoint = point;
    const keys = Array.from({ length: this.s.workload.listKeys }, (_, k) => `k${k}`);
    const txn: Micro[] = keys.map((key) => ({ f: 'append' as const, key, value: this.nextAppend++ }));
    const op: Op = { process: 997, index: this.history.nextIndex(), type: 'info', txn, invokeTime: this.loop.now };
    this.history.lists.push(op);
    const gate = victim.gate;
    op.type = await Promise.race([w.inTransaction(victimDb, 'write', (tx) => w.runListAppend(victimDb, tx, txn), this.history), gate.killed.then(() => 'info' as const)]);
    op.completeTime = this.loop.now;
    if (victim.killAtNextPoint !== null) {
      victim.killAtNextPoint = null; // the commit ended before that point (a conflict): nothing to measure
      return;
    }
    this.checked.push('peer-death');
    const died = this.loop.now;
    for (const key of keys) {
      const after: Micro[] = [{ f: 'append', key, value: this.nextAppend++ }];
      const next: Op = { process: 996, index: this.history.nextIndex(), type: 'info', txn: after, invokeTime: this.loop.now };
      this.history.lists.push(next);
      try {
        await survivorDb.transaction('write', (tx) => w.runListAppend(survivorDb, tx, after), { retries: 1_000, maxTimeMs: 60_000 });
        next.type = 'ok';
      } catch (error) {
        next.type = 'fail';
        this.violations.push(`liveness: after a process died at ${point}, a commit on ${key} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      next.completeTime = this.loop.now;
    }
    const waited = this.loop.now - died;
    this.history.peerDeaths.push({ point, waitedMs: waited });
    if (waited > PEER_DEATH_BUDGET_MS) this.violations.push(`liveness: after a process died at ${point}, the others needed ${waited.toFixed(0)} ms of virtual time to commit on its keys (budget ${PEER_DEATH_BUDGET_MS} ms)`);
  }

  /**
   * Clustered: locks of processes that died expire (the longest TTL is the sweep lock's, 60 s;
   * sector and count locks 30 s; node and liveness locks the transactions' maxTime), and what
   * they left is undone only after a node watched it stay quiet for the grace period (CLU-4):
   * two sweeps a grace period apart finish it before the liveness phase and the checks.
   */
  private async settleCluster(): Promise<void> {
    await this.loop.sleep(61_000, 'settle.locks');
    const db = await this.up(this.node);
    await db.sweep().catch(() => undefined);
    await this.loop.sleep(10_500, 'settle.grace');
    await db.sweep().catch(() => undefined);
  }

  /** Opens so far (the REPL-1 epoch must not go backwards from one to the next). */
  private incarnations = 0;

  /** Replicated runs: records the replication status this incarnation sees (REPL-1: its epoch never goes backwards). */
  private observeReplication(db: Database): void {
    if (!this.repl) return;
    let info: ReturnType<Database['replicationStatus']>;
    try {
      info = db.replicationStatus();
    } catch {
      return;
    }
    if (!info) return;
    const observed = this.history.repl.observed;
    const last = observed[observed.length - 1];
    if (last && last.incarnation === this.incarnations && last.epoch === info.epoch) return;
    if (last && last.active !== info.active) this.history.repl.failovers++;
    observed.push({ incarnation: this.incarnations, epoch: info.epoch, active: info.active, passive: info.passiveState, at: this.loop.now });
  }

  /**
   * A reinstate's progress callback that starts list-append commits at the first step of every
   * round (the full copy, each delta round, the switch), so each round copies a drive that
   * commits keep changing (REPL-3: online reinstate). Their outcomes enter the history; the
   * durability and isolation checkers judge them like any other.
   */
  private commitDuringRounds(db: Database): (p: ReinstateProgress) => void {
    let lastPhase = '';
    let lastDone = Infinity;
    let quarter = 0;
    return (p) => {
      const newRound = p.phase !== lastPhase || p.done < lastDone;
      lastPhase = p.phase;
      lastDone = p.done;
      if (newRound) {
        quarter = 0;
        this.history.repl.roundsWithCommits[p.phase] = (this.history.repl.roundsWithCommits[p.phase] ?? 0) + 1;
      }
      // Commits at each quarter of a round: enough changed paths that the reinstate runs delta rounds online.
      const reached = Math.floor((4 * p.done) / Math.max(1, p.total));
      if (!newRound && reached <= quarter) return;
      quarter = reached;
      for (let i = 0; i < 2; i++) this.asides.push(this.commitAside(db));
    };
  }

  /** Commits started during reinstate rounds: all end before the final checks. */
  private readonly asides: Array<Promise<void>> = [];

  /** One list-append commit outside the client loop (during a reinstate round), recorded in the history. */
  private async commitAside(db: Database): Promise<void> {
    const txn = w.listAppendTxn(this.random, this.s.workload, () => this.nextAppend++);
    const op: Op = { process: 998, index: this.history.nextIndex(), type: 'info', txn, invokeTime: this.loop.now };
    this.history.lists.push(op);
    const gate = this.node.gate;
    op.type = await Promise.race([w.inTransaction(db, 'write', (tx) => w.runListAppend(db, tx, txn), this.history), gate.killed.then(() => 'info' as const)]);
    this.history.count(op.type);
    op.completeTime = this.loop.now;
    if (op.type !== 'ok') for (const m of txn) if (m.f === 'r') m.value = null;
  }

  /** An operator brings a failed or replaced replicated drive back with `db.reinstate()` during the fault phase (its outcome is not judged). */
  private async operatorReinstate(): Promise<void> {
    const db = this.node.db;
    if (!db) return;
    this.history.repl.operatorReinstates++;
    const gate = this.node.gate;
    try {
      await Promise.race([db.reinstate(this.commitDuringRounds(db)), gate.killed]);
    } catch (error) {
      this.history.repl.operatorReinstateErrors++;
      if (!(error instanceof SopError)) this.history.untyped.push(`reinstate: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    }
    if (this.node.db === db) this.observeReplication(db);
  }

  /**
   * Faults healed: like an operator, reinstate the drive that failed or was replaced (spec
   * REPL-3); the replication checker then requires byte-identical replicas, in sync.
   */
  private async reinstateAfterHealing(db: Database): Promise<void> {
    try {
      const report = await db.reinstate(this.commitDuringRounds(db));
      this.history.repl.reinstate = { alreadyInSync: report.alreadyInSync, copied: report.copied, deltas: report.deltas };
    } catch (error) {
      if (!(error instanceof SopError)) this.history.untyped.push(`reinstate: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      this.history.repl.reinstateError = error instanceof Error ? error.message : String(error);
    }
    this.observeReplication(db);
  }

  /** An operator replaced a drive and runs `db.repair()` during the fault phase (its outcome is not judged). */
  private async operatorRepair(): Promise<void> {
    const db = this.node.db;
    if (!db) return;
    this.history.ec.operatorRepairs++;
    const gate = this.node.gate;
    try {
      await Promise.race([db.repair(), gate.killed]);
    } catch (error) {
      if (!(error instanceof SopError)) this.history.untyped.push(`repair: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    }
  }

  /**
   * Faults healed: a full repair must restore every blob's D+P shards (spec EC-3, judged by the
   * erasure-coding checker). A sweep runs first: deletes that failed during the faults (the
   * shards of rolled-back writes, EC-2) are finished by recovery, not by repair, which would
   * count such a leftover as an unrecoverable blob.
   */
  private async repairAfterHealing(db: Database): Promise<void> {
    try {
      await db.sweep();
      this.history.ec.repair = await db.repair();
    } catch (error) {
      if (!(error instanceof SopError)) this.history.untyped.push(`repair: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      this.history.ec.repairError = error instanceof Error ? error.message : String(error);
    }
  }

  /** After faults stop, transactions must commit again within a bounded virtual time (IDLE-1, REC-5). */
  private async liveness(db: Database): Promise<void> {
    this.checked.push('liveness');
    const start = this.loop.now;
    for (let i = 0; i < LIVENESS_TXNS; i++) {
      const txn = w.listAppendTxn(this.random, this.s.workload, () => this.nextAppend++);
      const op: Op = { process: 999, index: this.history.nextIndex(), type: 'info', txn, invokeTime: this.loop.now };
      this.history.lists.push(op);
      try {
        await db.transaction('write', (tx) => w.runListAppend(db, tx, txn), { retries: 100, maxTimeMs: HEALED_MAX_TIME_MS });
        op.type = 'ok';
      } catch (error) {
        op.type = 'fail';
        for (const m of txn) if (m.f === 'r') m.value = null;
        this.violations.push(`liveness: healed transaction failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      op.completeTime = this.loop.now;
    }
    if (this.loop.now - start > LIVENESS_BUDGET_MS) this.violations.push(`liveness: ${LIVENESS_TXNS} transactions took ${this.loop.now - start} ms of virtual time`);
  }

  private async check(db: Database): Promise<void> {
    const finalLists = await this.readFinalLists(db);
    for (const checker of CHECKERS) {
      this.checked.push(checker.name);
      const problems = await checker.check({ history: this.history, db, workload: this.s.workload, finalLists, erasure: this.erasureView(), replication: this.replicationView() });
      this.violations.push(...problems.map((p) => `${checker.name} [${checker.invariants.join(', ')}]: ${p}`));
    }
    for (const { workload, run } of this.layers) {
      this.checked.push(workload.name);
      const problems = await run.check(db);
      this.violations.push(...problems.map((p) => `${workload.name} [${workload.invariants.join(', ')}]: ${p}`));
    }
  }

  /** What the erasure-coding checker reads the drives with: node 0's file system, healed. */
  private erasureView(): ErasureView | null {
    if (!this.s.erasure) return null;
    return { geometry: this.s.erasure, fs: this.node.fileSystem() };
  }

  /** What the replication checker reads the drives with: the oracle over the SimDisk. */
  private replicationView(): ReplicationView | null {
    return this.repl ? { drives: this.repl } : null;
  }

  /** The final state, read after healing, also enters the history as the last committed read. */
  private async readFinalLists(db: Database): Promise<Map<string, number[]>> {
    const lists = new Map<string, number[]>();
    await db.transaction('read', async (tx) => {
      const t = await db.openBtree<string, number[]>(tx, 'lists');
      for await (const [key, value] of t.range()) lists.set(key, value);
    });
    const txn = Array.from({ length: this.s.workload.listKeys }, (_, k) => ({ f: 'r' as const, key: `k${k}`, value: lists.get(`k${k}`) ?? null }));
    this.history.lists.push({ process: 1000, index: this.history.nextIndex(), type: 'ok', txn, invokeTime: this.loop.now, completeTime: this.loop.now });
    return lists;
  }

  private crashPoints(): Map<string, number> {
    const all = new Map<string, number>();
    for (const node of this.nodes) for (const [reason, n] of node.crashPoints) all.set(reason, (all.get(reason) ?? 0) + n);
    return all;
  }

  private pointHits(): Record<string, number> {
    const all: Record<string, number> = {};
    for (const node of this.nodes) for (const [point, n] of node.pointHits) all[point] = (all[point] ?? 0) + n;
    return all;
  }

  private faultCounts(): Record<string, number> {
    const counts = Object.fromEntries(this.nemesis.injected);
    // Reinstate rounds that ran with commits started during them (REPL-3 online), by phase.
    for (const [phase, n] of Object.entries(this.history.repl.roundsWithCommits)) counts[`reinstate-${phase}-round`] = n;
    for (const [reason, n] of this.crashPoints()) {
      const kind = reason.startsWith('io:') ? 'crash-io' : reason.startsWith('point:') ? 'crash-point' : reason;
      counts[kind] = (counts[kind] ?? 0) + n;
    }
    return counts;
  }

  result(seed: number, loop: EventLoop): RunResult {
    loop.note(this.node.disk.digest());
    loop.note(JSON.stringify(this.history.counts));
    return {
      seed,
      scenario: describeScenario(this.s),
      traceHash: loop.traceHash(),
      violations: this.violations,
      transactions: { ...this.history.counts },
      faults: this.faultCounts(),
      crashPoints: Object.fromEntries(this.crashPoints()),
      pointHits: this.pointHits(),
      checked: this.checked,
      events: loop.events,
      virtualMs: loop.now,
      trace: this.violations.length > 0 ? loop.recent() : [],
      peerDeathMs: this.history.peerDeaths.map((d) => d.waitedMs),
    };
  }
}
