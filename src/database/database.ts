import { NodeCache } from '../cache/node-cache.js';
import { type KeyOrderSpec, makeKeyCompare, validateKeyOrderSpec } from '../codec/key-order.js';
import { SopError, corrupt, invalid, toSopError } from '../errors/sop-error.js';
import { realEnv } from '../adapters/real-env.js';
import { RedisCoordinator } from '../adapters/redis-coordinator.js';
import { ClusterSync } from '../cluster/cluster-sync.js';
import { ProcessLiveness, holderOf } from '../cluster/liveness.js';
import { blobsFactory } from '../ec/factory.js';
import { lazyBlobs } from '../blobs/lazy-blobs.js';
import type { Env } from '../ports/env.js';
import { type Replication, type ReplicationInfo, openReplication } from '../replication/replication.js';
import type { ReinstateProgress, ReinstateReport } from '../replication/reinstate.js';
import type { StoreInfo, StoreKind } from '../store/store-info.js';
import { StoreRepository } from '../store/store-repository.js';
import type { Store } from '../store/store.js';
import type { TxContext } from '../txn/context.js';
import { LocalLocks } from '../txn/locks.js';
import { Maintenance } from '../txn/maintenance.js';
import { Journal } from '../journal/journal.js';
import { type ReplayReport, replayJournal } from '../journal/replay.js';
import { priorityLogTids } from '../txn/cluster-recovery.js';
import { priorityLogExists } from '../txn/logs.js';
import { type LogState, type RecoveryReport, needsRedo, recover, scanLogs } from '../txn/recovery.js';
import { type TransactionMode, type TransactionOptions, Transaction } from '../txn/transaction.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { type Incident, Incidents } from '../util/incidents.js';
import { ensureDurableDir, joinPath, partStoreName, validateStoreName, validateStoredName } from '../util/paths.js';
import type { LayerHost, LayerMain, StoreEntry } from '../layers/host.js';
import { type VectorStore, type VectorStoreOptions, newVectorStore, openVectorStore } from '../layers/vector/index.js';
import { type SearchIndex, type SearchIndexOptions, newSearchIndex, openSearchIndex } from '../layers/search/index.js';
import { type StreamStore, type StreamStoreOptions, newStreamStore, openStreamStore } from '../layers/stream/index.js';
import { type ModelRegistry, newModelRegistry, openModelRegistry } from '../layers/models/index.js';
import { type ExportReport, type FallbackReport, exportDatabase, openWithFallback } from '../layers/export/index.js';
import { Btree } from './btree.js';
import { type StoreCheck, checkStore } from './check.js';
import { loadOrCreateDbInfo } from './db-info.js';
import { lockFolders, releaseAll } from './folder-lock.js';
import { type ResolvedOptions, resolveOptions } from './resolve-options.js';
import type { FileLock } from '../ports/file-system.js';
import { type BtreeOptions, DEFAULT_HASH_MOD, DEFAULT_SLOT_LENGTH, type DatabaseOptions, MAX_SLOT_LENGTH } from './options.js';

export interface TransactionRunOptions extends TransactionOptions {
  /** How many times a CONFLICT is retried with a fresh transaction (default 10). */
  retries?: number;
}

/**
 * A database: one data folder (standalone). Opening it runs crash recovery (spec REC-1);
 * every transaction's begin also gives the onIdle maintenance a chance to run (spec IDLE-1).
 */
export class Database {
  private readonly live = new Map<string, Transaction>();
  private readonly incidentLog: Incidents;
  private failure_: SopError | null = null;
  private closed = false;
  private seq = 0;
  private readonly ctx: TxContext;
  private fastPath: Promise<void> | null = null;
  /** What the journal replay did when the folder was opened (spec JNL-4). */
  journalReplay: ReplayReport = { replayed: 0, seq: 0, damaged: [] };
  /** Set when open rebuilt the folder from `options.fallback` (spec EXP-2); null otherwise. */
  restoredFrom: FallbackReport | null = null;

  private constructor(
    readonly folder: string,
    private readonly env: Env,
    private readonly repo: StoreRepository,
    private readonly maintenance: Maintenance | null,
    /** What recovery did when the folder was opened. */
    readonly recovery: RecoveryReport,
    nodes: NodeCache,
    private readonly cluster: ClusterSync | null,
    private readonly clusterGraceMs: number,
    /** A Coordinator this database connected itself, closed with it. */
    private readonly ownedCoordinator: RedisCoordinator | null,
    private readonly replication: Replication | null,
    private readonly journal: Journal | null,
  ) {
    this.incidentLog = new Incidents(env.clock);
    this.ctx = {
      env,
      translogs: joinPath(folder, 'translogs'),
      namespace: `sop:${folder}`,
      repo,
      nodes,
      storeMutex: new KeyedMutex(),
      locks: new LocalLocks(),
      nextSeq: (floor = 0) => (this.seq = Math.max(this.seq, floor) + 1),
      cluster,
      journal,
      restartFastPath: () => this.restartFastPath(),
      commitNeedsRecovery: (tid, error) => {
        this.failure_ ??= new SopError('UNAVAILABLE', `commit ${tid} could not finish; close and reopen the database to recover it`, { cause: error });
      },
      incident: this.incidentLog.record,
      lockOwner: (tid) => cluster?.lockOwner(tid) ?? tid,
      isDeadOwner: async (owner) => (cluster ? cluster.isDeadOwner(owner) : false),
      takeOver: (owner, key) => this.takeOver(owner, key),
      transactionEnded: (tid) => this.live.delete(tid),
      isLocal: (tid) => this.live.has(tid),
      failure: () => this.failure,
    };
  }

  /** Brings one transaction that is not live to its end: redone and finished, or undone behind a fence (CLU-5, CLU-6). */
  private async settle(tid: string): Promise<void> {
    await this.settling.run(tid, async () => {
      const states = await scanLogs(this.env, this.ctx.translogs, (t) => t !== tid);
      await recover(this.env, this.ctx.translogs, this.repo, states, { fence: true });
    });
  }

  /** One recovery per dead transaction at a time (CLU-6). */
  private readonly settling = new KeyedMutex();

  /**
   * Clustered (CLU-6): a lock held by a dead process's transaction. That transaction is brought
   * to its end first — redone if its priority log is there, else undone behind a fence that
   * takes its commit point — and only then is its lock on `key` broken (compare-and-delete on
   * the dead owner), with its liveness key.
   */
  private async takeOver(owner: string, key: string): Promise<void> {
    const cluster = this.cluster!;
    const tid = holderOf(owner);
    cluster.noteDead(tid);
    await this.settle(tid);
    await this.env.coordinator.unlock(key, owner);
    await this.env.coordinator.unlock(cluster.txKey(tid), owner).catch(() => false); // its TTL frees it otherwise
  }

  /**
   * Set when a commit could not finish after its commit point, or a replication failover could
   * not be recorded: writes are refused until reopen (spec REC-5, REPL-1).
   */
  get failure(): SopError | null {
    return this.failure_ ?? this.replication?.stopped ?? null;
  }

  static async open(options: DatabaseOptions): Promise<Database> {
    const o = resolveOptions(options); // every option checked and defaulted here, before anything is written
    if (o.fallback !== undefined) return openWithFallback(options, (plain) => Database.open(plain));
    const owned = o.mode === 'clustered' && !o.env ? await connectRedis(o) : null;
    const base = owned ? { ...realEnv(), coordinator: owned } : (o.env ?? realEnv());
    let locks: FileLock[] = [];
    try {
      const stat = await base.fs.stat(o.folder).catch(() => null); // a failing drive is replication's to handle
      if (stat && !stat.isDirectory) throw invalid(`${o.folder} is not a directory`);
      const folders = [o.folder, ...(o.replication ? [o.replication.passive] : []), ...(o.erasureCoding?.drives ?? [])];
      locks = await lockFolders(base, folders, o.mode === 'clustered', base.clock.now(), o.replication !== null || o.erasureCoding !== null);
      const replicated = o.replication ? await openReplication(base, o.folder, o.replication.passive) : null;
      const db = await Database.openFolder(replicated?.env ?? base, o, owned, replicated?.replication ?? null);
      db.locks = locks;
      return db;
    } catch (error) {
      await releaseAll(locks);
      await owned?.close().catch(() => undefined); // the open's own error is the one to report
      throw toSopError(error, `open ${o.folder}`);
    }
  }

  /** The folder locks this database holds until it is closed (spec STORE-5). */
  private locks: FileLock[] = [];

  private static async openFolder(env: Env, options: ResolvedOptions, owned: RedisCoordinator | null, replication: Replication | null): Promise<Database> {
    const folder = options.folder;
    await ensureDurableDir(env.fs, folder);
    const info = await loadOrCreateDbInfo(env, folder, options.registryHashMod, DEFAULT_HASH_MOD);
    const translogs = joinPath(folder, 'translogs');
    await ensureDurableDir(env.fs, translogs);
    const stored = blobsFactory(env, options.erasureCoding ?? undefined);
    // Journal mode keeps committed blobs in memory until the checkpoint writes (or codes) them (JNL-2).
    const repo = new StoreRepository(env, folder, info.hashMod, options.journal ? lazyBlobs(stored) : stored);
    const namespace = `sop:${folder}`;
    const clustered = options.mode === 'clustered';
    const grace = options.clusterGraceMs;
    const liveness = clustered ? new ProcessLiveness(env, namespace, options.clusterLivenessMs) : null;
    const cluster = liveness ? new ClusterSync(env, namespace, repo.dir, (store) => repo.readInfo(store), liveness) : null;
    repo.stillCommitted = (tid) => priorityLogExists(env, translogs, tid);
    if (cluster) {
      repo.sectorGuard = cluster.sectorGuard;
      repo.storeLock = (names, task) => cluster.withStoreLocks(names, task);
      repo.hiddenQuiet = (name, mtimeMs) => cluster.quietLongEnough(`hidden:${name}`, mtimeMs, grace);
    }
    const scan = cluster ? { quietLongEnough: (tid: string, mtimeMs: number) => cluster.quietLongEnough(tid, mtimeMs, grace) } : {};
    let states: LogState[];
    let report: RecoveryReport;
    let replayed: ReplayReport;
    try {
      await liveness?.start(); // before any lock: every lock this process takes names it (CLU-6)
      await cluster?.restarted(false); // adopts the Coordinator's current run id
      await repo.init();
      // Journal records first, in any mode: a folder last run in journal mode may have some (JNL-4).
      replayed = await replayJournal(env, translogs, repo);
      states = await scanLogs(env, translogs, (tid) => cluster?.isLive(tid) ?? false, scan);
      const redoTids = new Set(needsRedo(states).map((s) => s.tid));
      // Clustered: a torn sector may belong to a process that died holding a liveness lock that
      // has not expired yet (a power loss leaves Redis up). Only torn sectors are restored, under
      // the sector's cluster lock and claim, so every transaction with a priority log counts
      // (COW-3; found by the clustered simulator, seed 1247438075 --nodes 3).
      const restoreTids = cluster ? new Set([...redoTids, ...(await priorityLogTids(env, translogs))]) : redoTids;
      for (const name of await repo.names()) await repo.get(name, restoreTids);
      report = await recover(env, translogs, repo, states, { fence: clustered });
    } catch (error) {
      await repo.close().catch(() => undefined); // the open's own error is the one to report
      await liveness?.close();
      throw error;
    }
    const nodes = new NodeCache(options.nodeCacheSize, env.coordinator, namespace, 5 * 60_000);
    let db: Database | undefined;
    const isLive = async (tid: string): Promise<boolean> => (db?.live.has(tid) ?? true) || ((await cluster?.isLive(tid)) ?? false);
    const maintenance = new Maintenance(env, translogs, repo, namespace, isLive, options.maintenance, clustered, scan, (where, e) => db?.incidentLog.record(where, e));
    const journal = options.journal ? new Journal(env, translogs, repo, options.journal) : null;
    if (journal) maintenance.checkpoint = () => journal.checkpoint();
    db = new Database(folder, env, repo, maintenance, report, nodes, cluster, grace, owned, replication, journal);
    db.journalReplay = replayed;
    for (const d of replayed.damaged) db.incidentLog.record('journal replay', corrupt(`store ${d.store}: leaf ${d.leaf} of node ${d.node} not rebuilt: its base ${d.base} is damaged (${d.why})`));
    db.seq = Math.max(replayed.seq, ...states.map((s) => s.plg?.seq ?? 0), ...repo.opened().map((s) => s.info.commitSeq));
    return db;
  }

  async beginTransaction(mode: TransactionMode, options: TransactionOptions = {}): Promise<Transaction> {
    return this.api('beginTransaction', () => this.beginTransactionImpl(mode, options));
  }

  private async beginTransactionImpl(mode: TransactionMode, options: TransactionOptions = {}): Promise<Transaction> {
    this.ensureOpen();
    if (mode !== 'write' && mode !== 'read' && mode !== 'nocheck') throw invalid(`mode must be 'write', 'read' or 'nocheck', got ${JSON.stringify(mode)}`);
    const max = options.maxTimeMs;
    if (max !== undefined && !(typeof max === 'number' && max > 0)) throw invalid('maxTimeMs must be a number > 0');
    if (mode === 'write' && this.failure) throw this.failure;
    if (this.cluster && (await this.cluster.restarted(true))) await this.restartFastPath();
    await this.maintenance?.onIdle().catch((error: unknown) => this.incidentLog.record('sweep', error)); // retried at the next due sweep
    this.ensureOpen(); // closed while the sweep ran: no transaction may start on closed files
    const tx = new Transaction(this.ctx, this.env.random.uuid(), mode, options);
    this.live.set(tx.id, tx);
    return tx;
  }

  /**
   * Clustered: a Coordinator restart dropped every lock, so a commit that passed its commit
   * point may be unapplied with nothing guarding its nodes; its priority log is redone before
   * this process validates anything again (spec CLU-5). Shared by concurrent callers.
   */
  private restartFastPath(): Promise<void> {
    this.fastPath ??= (async () => {
      const isLive = async (tid: string): Promise<boolean> => this.live.has(tid) || (await this.cluster!.isLive(tid));
      const quietLongEnough = (tid: string, mtimeMs: number): boolean => this.cluster!.quietLongEnough(tid, mtimeMs, this.clusterGraceMs);
      const states = await scanLogs(this.env, this.ctx.translogs, isLive, { quietLongEnough });
      await recover(this.env, this.ctx.translogs, this.repo, states, { fence: true });
      this.cluster!.adoptRunId();
    })().finally(() => (this.fastPath = null));
    return this.fastPath;
  }

  /** Creates the store, or opens it when it exists with the same options (SOP E16). */
  async newBtree<K = unknown, V = unknown>(tx: Transaction, name: string, options: BtreeOptions<K> = {}): Promise<Btree<K, V>> {
    return this.api('newBtree', () => this.newBtreeImpl(tx, name, options));
  }

  private async newBtreeImpl<K = unknown, V = unknown>(tx: Transaction, name: string, options: BtreeOptions<K> = {}): Promise<Btree<K, V>> {
    validateStoreName(name);
    return (await this.createStore<K, V>(tx, name, this.storeInfoFor(name, options), options)).tree;
  }

  /** Creates the store `name` (any kind, parts included), or opens it when it exists with the same kind and compatible options. */
  private async createStore<K, V>(tx: Transaction, name: string, wanted: StoreInfo, options: BtreeOptions<K>): Promise<LayerMain<K, V>> {
    this.ensureOpen();
    tx.ensureActive();
    for (let attempt = 0; ; attempt++) {
      const existing = await this.repo.get(name);
      if (existing) {
        checkKind(existing.info, wanted.kind ?? 'btree');
        checkCompatible(existing.info, wanted, options);
        return { tree: await this.attach<K, V>(tx, existing, options.comparer), layer: existing.info.layer ?? {}, created: false };
      }
      tx.ensureWritable();
      await tx.logStoreCreation(name);
      try {
        const store = await this.repo.create(tx.id, wanted);
        return { tree: await this.attach<K, V>(tx, store, options.comparer), layer: store.info.layer ?? {}, created: true };
      } catch (error) {
        if (!SopError.is(error, 'STORE_EXISTS') || attempt > 0) throw error;
      }
    }
  }

  /** Opens an existing store; STORE_NOT_FOUND when there is none. */
  async openBtree<K = unknown, V = unknown>(tx: Transaction, name: string, options: { comparer?: (a: K, b: K) => number } = {}): Promise<Btree<K, V>> {
    return this.api('openBtree', () => this.openBtreeImpl(tx, name, options));
  }

  private async openBtreeImpl<K = unknown, V = unknown>(tx: Transaction, name: string, options: { comparer?: (a: K, b: K) => number } = {}): Promise<Btree<K, V>> {
    validateStoreName(name);
    return (await this.openStore<K, V>(tx, name, 'btree', options.comparer)).tree;
  }

  /** Opens the store `name`: STORE_NOT_FOUND when missing, INVALID_ARGUMENT when it is of another kind (kind null: any). */
  private async openStore<K, V>(tx: Transaction, name: string, kind: StoreKind | null, comparer?: (a: K, b: K) => number): Promise<LayerMain<K, V>> {
    this.ensureOpen();
    tx.ensureActive();
    const store = await this.repo.get(name);
    if (!store) throw new SopError('STORE_NOT_FOUND', `store ${name} does not exist`);
    if (kind !== null) checkKind(store.info, kind);
    return { tree: await this.attach<K, V>(tx, store, comparer), layer: store.info.layer ?? {}, created: false };
  }

  /** Vector store (IVF over B-trees) inside the caller's transactions: created, or opened when it exists with the same options. */
  async newVectorStore(tx: Transaction, name: string, options: VectorStoreOptions): Promise<VectorStore> {
    return this.api('newVectorStore', () => newVectorStore(this.layers, tx, name, options));
  }

  async openVectorStore(tx: Transaction, name: string): Promise<VectorStore> {
    return this.api('openVectorStore', () => openVectorStore(this.layers, tx, name));
  }

  /** BM25 full-text index inside the caller's transactions. */
  async newSearchIndex(tx: Transaction, name: string, options: SearchIndexOptions = {}): Promise<SearchIndex> {
    return this.api('newSearchIndex', () => newSearchIndex(this.layers, tx, name, options));
  }

  async openSearchIndex(tx: Transaction, name: string): Promise<SearchIndex> {
    return this.api('openSearchIndex', () => openSearchIndex(this.layers, tx, name));
  }

  /** Large values in chunks, with Node streams, inside the caller's transactions. */
  async newStreamStore(tx: Transaction, name: string, options: StreamStoreOptions = {}): Promise<StreamStore> {
    return this.api('newStreamStore', () => newStreamStore(this.layers, tx, name, options));
  }

  async openStreamStore(tx: Transaction, name: string): Promise<StreamStore> {
    return this.api('openStreamStore', () => openStreamStore(this.layers, tx, name));
  }

  /** Named models with semver versions, inside the caller's transactions. */
  async newModelRegistry(tx: Transaction, name: string): Promise<ModelRegistry> {
    return this.api('newModelRegistry', () => newModelRegistry(this.layers, tx, name));
  }

  async openModelRegistry(tx: Transaction, name: string): Promise<ModelRegistry> {
    return this.api('openModelRegistry', () => openModelRegistry(this.layers, tx, name));
  }

  /** A consistent JSON-lines snapshot of every store of every kind (`sop export`). */
  async export(file: string): Promise<ExportReport> {
    return this.api('export', () => exportDatabase(this.layers, file));
  }

  /** What the layers use of this database (src/layers/host.ts). */
  private get layers(): LayerHost {
    return {
      env: this.env,
      folder: this.folder,
      createMain: (tx, name, kind, layer, options) => {
        validateStoreName(name);
        return this.createStore(tx, name, { ...this.storeInfoFor(name, options), kind, layer }, options);
      },
      openMain: (tx, name, kind) => {
        validateStoreName(name);
        return this.openStore(tx, name, kind);
      },
      part: async <K, V>(tx: Transaction, name: string, part: string, options: BtreeOptions<K>) => {
        const full = partStoreName(name, part);
        return (await this.createStore<K, V>(tx, full, this.storeInfoFor(full, options), options)).tree;
      },
      openAny: async <K, V>(tx: Transaction, name: string) => (await this.openStore<K, V>(tx, name, null)).tree,
      allStores: () => this.allStores(),
      beginTransaction: (mode, options) => this.beginTransaction(mode, options),
    };
  }

  private async allStores(): Promise<Array<StoreEntry & { part?: string; layer?: Record<string, unknown> }>> {
    const entries: Array<StoreEntry & { part?: string; layer?: Record<string, unknown> }> = [];
    for (const name of await this.repo.names()) {
      const at = name.indexOf('@');
      const main = at < 0 ? name : name.slice(0, at);
      const info = (await this.repo.get(main))?.info;
      const entry = { name, kind: info?.kind ?? 'btree', ...(info?.layer ? { layer: info.layer } : {}) };
      entries.push(at < 0 ? entry : { ...entry, part: name.slice(at + 1) });
    }
    return entries;
  }

  /** Runs `fn` in a transaction and commits it, retrying on CONFLICT (spec API-4). */
  async transaction<T>(mode: TransactionMode, fn: (tx: Transaction) => Promise<T>, options: TransactionRunOptions = {}): Promise<T> {
    const retries = options.retries ?? 10;
    if (!(Number.isInteger(retries) && retries >= 0)) throw invalid('retries must be an integer >= 0');
    for (let attempt = 0; ; attempt++) {
      const tx = await this.beginTransaction(mode, options);
      try {
        const result = await fn(tx);
        await tx.commit();
        return result;
      } catch (error) {
        // The callback's error is the caller's; a rollback that fails too leaves a step log the sweep finishes.
        if (tx.state === 'active') await tx.rollback().catch((e: unknown) => this.incidentLog.record(`rollback of ${tx.id}`, e));
        if (!SopError.is(error, 'CONFLICT') || attempt >= retries) throw error;
        await this.env.clock.sleep(1 + Math.floor(this.env.random.nextFloat() * Math.min(1_000, 2 ** (attempt + 1)))); // full jitter
      }
    }
  }

  /**
   * Every store with its kind ('btree', 'vector', 'search', 'stream', 'models'), by name. With
   * `parts: true` the auxiliary B-trees of layer stores (`<name>@<part>`) are listed too, each
   * with its `part` (operator tools check and scrub them like any store).
   */
  async listStores(options: { parts?: boolean } = {}): Promise<Array<StoreEntry & { part?: string }>> {
    return this.api('listStores', async () =>
      (await this.allStores()).filter((s) => options.parts === true || s.part === undefined).map(({ name, kind, part }) => (part === undefined ? { name, kind } : { name, kind, part })),
    );
  }

  /** Deletes a store now, outside any transaction; CONFLICT while a live transaction uses it. */
  async removeBtree(name: string): Promise<boolean> {
    return this.api('removeBtree', () => this.removeBtreeImpl(name));
  }

  /** A layer store goes with its parts: the parts first, so a crash in between leaves the main store listed. */
  private async removeBtreeImpl(name: string): Promise<boolean> {
    this.ensureOpen();
    validateStoreName(name);
    const names = [...(await this.repo.names()).filter((n) => n.startsWith(`${name}@`)), name];
    for (const tx of this.live.values()) {
      for (const n of names) if (tx.hasSession(n)) throw new SopError('CONFLICT', `store ${n} is in use by transaction ${tx.id}`);
    }
    let removed = false;
    for (const n of names) removed = (await this.repo.remove(n)) || removed;
    return removed;
  }

  /** Walks a store and checks its structure, counts and blobs (the STRUCT invariants). */
  async checkStore(name: string): Promise<StoreCheck> {
    return this.api('checkStore', () => this.checkStoreImpl(name));
  }

  private async checkStoreImpl(name: string): Promise<StoreCheck> {
    this.ensureOpen();
    validateStoredName(name);
    const store = await this.repo.get(name);
    if (!store) throw new SopError('STORE_NOT_FOUND', `store ${name} does not exist`);
    if (this.cluster) await this.cluster.refresh(store, true);
    const tx = new Transaction(this.ctx, this.env.random.uuid(), 'nocheck', {});
    const session = tx.session(this.withComparer(store, undefined));
    return checkStore(store, session, () => store.blobs.list());
  }

  /**
   * Erasure coding: rebuilds every missing or corrupt shard of every store (after a drive was
   * replaced), with progress; afterwards every blob has all D+P valid shards (spec EC-3).
   * Without erasure coding there is nothing to rebuild and every count is 0.
   */
  async repair(progress?: (store: string, done: number, total: number) => void): Promise<{ blobs: number; shardsRewritten: number; unrecoverable: number; unwritable: number }> {
    return this.api('repair', async () => {
      const total = { blobs: 0, shardsRewritten: 0, unrecoverable: 0, unwritable: 0 };
      for (const name of await this.repo.names()) {
        const store = await this.repo.get(name);
        const redundancy = store?.blobs.redundancy;
        if (!redundancy) continue; // blobs kept once: nothing to rebuild from
        const r = await redundancy.repair((done, all) => progress?.(name, done, all));
        for (const k of ['blobs', 'shardsRewritten', 'unrecoverable', 'unwritable'] as const) total[k] += r[k];
      }
      return total;
    });
  }

  /** Reads every blob of a store and checks its checksums (and with erasure coding each shard): `sop verify`. */
  async scrubStore(name: string, progress?: (done: number, total: number) => void): Promise<import('../blobs/blobs.js').ScrubReport> {
    return this.api('scrubStore', async () => {
      validateStoredName(name);
      const store = await this.repo.get(name);
      if (!store) throw new SopError('STORE_NOT_FOUND', `store ${name} does not exist`);
      return store.blobs.scrub(progress);
    });
  }

  /** Replication (option `replication`): which folder is active, what the passive one is worth, recent changes; null without replication. */
  replicationStatus(): ReplicationInfo | null {
    this.ensureOpen();
    return this.replication?.info() ?? null;
  }

  /**
   * Replication: brings the passive folder (a replaced drive, or one that failed) back into
   * replication while the database keeps running: full copy, then the changes made meanwhile,
   * then mirroring on; afterwards both folders are byte-identical (spec REPL-3). Running it
   * again after a crash starts over. Without replication: INVALID_ARGUMENT.
   */
  async reinstate(progress?: (p: ReinstateProgress) => void): Promise<ReinstateReport> {
    return this.api('reinstate', async () => {
      if (!this.replication) throw invalid('reinstate needs replication (option replication: { passive })');
      return this.replication.reinstate(progress);
    });
  }

  /** Replication: every difference between the active and passive folders (empty when identical). */
  async compareReplicas(): Promise<string[]> {
    return this.api('compareReplicas', async () => {
      if (!this.replication) throw invalid('compareReplicas needs replication (option replication: { passive })');
      return this.replication.compare();
    });
  }

  /**
   * Background work that failed without failing a caller (a sweep, a repair, a checkpoint, a
   * cleanup), most recent last (at most 100): it is retried later; these say it happened.
   */
  incidents(): readonly Incident[] {
    return this.incidentLog.recent();
  }

  /** Calls `listener` for every new incident; returns the function that stops it. */
  onIncident(listener: (incident: Incident) => void): () => void {
    return this.incidentLog.subscribe(listener);
  }

  /** Runs one onIdle sweep now (recovery of dead transactions). */
  async sweep(): Promise<RecoveryReport | null> {
    // A typed error like every call (an EIO reading translogs/ escaped raw: found by the I/O-error loop in journal mode).
    return this.api('sweep', async () => (await this.maintenance?.sweep()) ?? null);
  }

  /**
   * Rolls back active transactions, waits for commits and a sweep in progress to end, then
   * closes the files. A commit still writing after close would write into a folder that a new
   * instance has opened and recovered meanwhile: its store info, older than the new instance's
   * commits, went over theirs (a count 3 behind its items in the replication chaos drill).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const inFlight = [...this.live.values()];
    const report = this.incidentLog.record;
    // Failures while closing are reported, not thrown: what they leave (a step log, journal
    // records) is finished by the next open's recovery or replay (REC-1, JNL-4).
    for (const tx of inFlight) if (tx.state === 'active') await tx.rollback().catch((e: unknown) => report(`rollback of ${tx.id} at close`, e));
    for (const tx of inFlight) await tx.settled();
    await this.maintenance?.idle();
    await this.journal?.checkpoint().catch((e: unknown) => report('checkpoint at close', e));
    await this.journal?.close().catch((e: unknown) => report('journal close', e));
    await this.repo.close();
    await this.cluster?.liveness.close();
    await this.replication?.close();
    await this.ownedCoordinator?.close().catch(() => undefined); // a connection that fails to quit is dropped: nothing of ours rides on it
    await releaseAll(this.locks); // last: nothing of this instance writes any more
  }

  /** Clustered: a transaction's first look at a store reloads it if another process committed to it (CLU-1). */
  private async attach<K, V>(tx: Transaction, store: Store, comparer: ((a: K, b: K) => number) | undefined): Promise<Btree<K, V>> {
    if (this.cluster && !tx.hasSession(store.name)) await this.cluster.refresh(store);
    const withCompare = this.withComparer(store, comparer as ((a: unknown, b: unknown) => number) | undefined);
    return new Btree<K, V>(tx, withCompare, tx.session(withCompare));
  }

  private withComparer(store: Store, comparer: ((a: unknown, b: unknown) => number) | undefined): Store {
    if (store.info.customComparer) {
      if (comparer) store.userCompare = comparer;
      if (!store.userCompare) throw invalid(`store ${store.name} was created with a comparer: pass it again (options.comparer)`);
      store.compare ??= makeKeyCompare(store.info.keyOrder, (a, b) => store.userCompare!(a, b));
    } else {
      if (comparer) throw invalid(`store ${store.name} was created without a comparer`);
      store.compare ??= makeKeyCompare(store.info.keyOrder);
    }
    return store;
  }

  private storeInfoFor<K>(name: string, o: BtreeOptions<K>): StoreInfo {
    if (o === null || typeof o !== 'object') throw invalid('options must be an object');
    const slotLength = o.slotLength ?? DEFAULT_SLOT_LENGTH;
    if (!Number.isInteger(slotLength) || slotLength < 2 || slotLength > MAX_SLOT_LENGTH) throw invalid(`slotLength must be an integer in 2..${MAX_SLOT_LENGTH}`);
    for (const flag of ['isUnique', 'valueInNode'] as const) {
      if (o[flag] !== undefined && typeof o[flag] !== 'boolean') throw invalid(`${flag} must be a boolean`);
    }
    if (o.comparer !== undefined && typeof o.comparer !== 'function') throw invalid('comparer must be a function');
    const keyOrder: KeyOrderSpec = o.keyOrder
      ? validateKeyOrderSpec({ kind: 'fields', fields: o.keyOrder.map((f) => ({ field: f?.field, order: f?.order ?? 'asc' })) }, 'user')
      : { kind: 'natural' };
    const now = this.env.clock.now();
    return {
      name, slotLength, isUnique: o.isUnique ?? true, valueInNode: o.valueInNode ?? true, keyOrder,
      customComparer: o.comparer !== undefined, description: o.description ?? '', rootId: this.env.random.uuid(),
      count: 0, commitSeq: 0, createdAt: now, updatedAt: now,
    };
  }

  /** Every public call: the database must be open, and whatever fails is a typed SopError (spec API-1). */
  private async api<T>(what: string, call: () => Promise<T>): Promise<T> {
    this.ensureOpen();
    try {
      return await call();
    } catch (error) {
      throw toSopError(error, what);
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw new SopError('UNAVAILABLE', 'the database is closed');
  }
}

/** A store is opened only as what it is: a vector store is not a B-tree to users. */
function checkKind(existing: StoreInfo, kind: StoreKind): void {
  const actual = existing.kind ?? 'btree';
  if (actual !== kind) throw invalid(`store ${existing.name} is a ${actual} store, not a ${kind} store`);
}

/** Options given explicitly must match the existing store (SOP E16); omitted ones are taken from it. */
function checkCompatible<K>(existing: StoreInfo, wanted: StoreInfo, given: BtreeOptions<K>): void {
  for (const f of ['slotLength', 'isUnique', 'valueInNode'] as const) {
    if (given[f] !== undefined && existing[f] !== wanted[f]) {
      throw invalid(`store ${existing.name} exists with ${f}=${String(existing[f])}, not ${String(wanted[f])}`);
    }
  }
  if (existing.customComparer !== wanted.customComparer) {
    throw invalid(`store ${existing.name} exists ${existing.customComparer ? 'with' : 'without'} a user comparer`);
  }
  if (given.keyOrder !== undefined && JSON.stringify(existing.keyOrder) !== JSON.stringify(wanted.keyOrder)) {
    throw invalid(`store ${existing.name} exists with another keyOrder`);
  }
}


/** Clustered mode's own Redis connection; a wrong URL, password or a server that is down is UNAVAILABLE, naming the cause. */
async function connectRedis(options: ResolvedOptions): Promise<RedisCoordinator> {
  try {
    return await RedisCoordinator.connect(options.redis!, options.redisOptions);
  } catch (error) {
    throw new SopError('UNAVAILABLE', `clustered mode cannot reach Redis: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
