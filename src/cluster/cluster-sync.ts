import { SopError, toSopError } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';
import type { SectorGuard } from '../registry/registry.js';
import type { Store } from '../store/store.js';
import { withClaimFiles } from './claim-files.js';
import { withClusterLocks } from './cluster-lock.js';
import { type ProcessLiveness, holderOf, ownerOf } from './liveness.js';
import type { ClusterWait } from './wait.js';
import { joinPath } from '../util/paths.js';

/** What a transaction's liveness key says about it (spec CLU-4, CLU-6). */
export type TxLiveness = 'live' | 'dead' | 'unknown';

/** How long a "store changed" stamp lives in the Coordinator; a missing stamp means "reload". */
const STAMP_TTL_MS = 24 * 60 * 60_000;
/** At most one `INFO server` round trip per this interval outside commits. */
const RUN_ID_CHECK_MS = 1_000;

const TEXT = new TextEncoder();
const UTF8 = new TextDecoder();

/**
 * What clustered mode adds to the engine (spec CLU-1..CLU-5): several processes share one set
 * of folders, so each keeps its view of a store's registry and info fresh, rewrites registry
 * sectors and store counts under cluster-wide locks, validates readers against in-flight
 * commits, and notices a Coordinator that lost its state (a Redis restart) by its run id.
 */
export class ClusterSync {
  /** Logs of transactions without a liveness lock: the file time seen and since when (monotonic). */
  private readonly quiet = new Map<string, { mtimeMs: number; since: number }>();
  /** Transactions whose process this one found dead (CLU-6): recovered without the quiet period. */
  private readonly dead = new Set<string>();
  /** Last "store changed" stamp each store's view was reloaded at. */
  private readonly seen = new Map<string, string>();
  private adoptedRunId: string | null = null;
  private lastSeenRunId: string | null = null;
  private lastRunIdCheck = -Infinity;

  constructor(
    private readonly env: Env,
    private readonly namespace: string,
    /** `<folder>/stores`: each store's claim files live in its `claims/` folder. */
    private readonly storesDir: string,
    /** Reads a store's info from disk (the repository's job). */
    private readonly readInfo: (store: Store) => Promise<Store['info']>,
    /** This process's heartbeat and the liveness checks of others (CLU-6). */
    readonly liveness: ProcessLiveness,
  ) {}

  /** A wait bounded by `bound` (a commit before its commit point) or only by the overall limit. */
  wait(bound: { deadline?: number; signal?: AbortSignal } = {}): ClusterWait {
    const liveness = this.liveness;
    return {
      processId: liveness.id,
      isDeadOwner: (owner) => liveness.isDeadOwner(owner),
      sightings: this.sightings,
      liveClaims: this.liveClaims,
      abandonClaim: (owner) => liveness.abandonClaim(owner),
      isAbandoned: (owner) => liveness.isAbandoned(owner),
      release: (key, owner) => liveness.release(key, owner),
      ...bound,
    };
  }

  /** Claims this process watches (claim-files.ts), across waits. */
  private readonly sightings = new Map<string, { mtimeMs: number; since: number }>();
  /** Owners of this process's claim calls in progress (claim-files.ts). */
  private readonly liveClaims = new Set<string>();

  /** Registry sector rewrites exclude each other across processes: Redis lock, then claim file (spec CLU-2). */
  readonly sectorGuard: SectorGuard = (store, sectors, task) => {
    const wait = this.wait();
    return withClusterLocks(this.env, sectors.map((s) => `${this.namespace}:sec:${store}:${s}`), wait, () =>
      withClaimFiles(this.env, this.claimDir(store), sectors.map((s) => `sector-${s}`), wait, task),
    );
  };

  /**
   * Count updates of these stores exclude each other across processes: Redis locks, then claim
   * files (spec CLU-3). `bound`: a commit's deadline and signal, before its commit point (TX-9).
   */
  withStoreLocks<T>(names: readonly string[], task: () => Promise<T>, bound: { deadline?: number; signal?: AbortSignal } = {}): Promise<T> {
    const wait = this.wait(bound);
    const sorted = [...new Set(names)].sort();
    const claimed = sorted.reduceRight<() => Promise<T>>((inner, name) => () => withClaimFiles(this.env, this.claimDir(name), ['count'], wait, inner), task);
    return withClusterLocks(this.env, sorted.map((n) => `${this.namespace}:si:${n}`), wait, claimed);
  }

  /** The owner string of every lock a transaction of this process takes: `<tid>@<process id>` (CLU-6). */
  lockOwner(tid: string): string {
    return ownerOf(tid, this.liveness.id);
  }

  private claimDir(store: string): string {
    return joinPath(this.storesDir, store, 'claims');
  }

  /** The Coordinator key a transaction holds from phase 1 to its end: its liveness (spec CLU-4). */
  txKey(tid: string): string {
    return `${this.namespace}:tx:${tid}`;
  }

  /** Takes (or re-arms) a transaction's liveness lock before its first log record (CLU-4). */
  async holdLiveness(tid: string, ttlMs: number): Promise<void> {
    const other = await this.coordinator(() => this.env.coordinator.lock(this.txKey(tid), this.lockOwner(tid), ttlMs));
    if (other !== null) throw new SopError('CONFLICT', `transaction id ${tid} is held by ${other}`);
  }

  /** Ends a transaction's liveness lock; retried by the heartbeat when Redis does not confirm. */
  async releaseLiveness(tid: string): Promise<void> {
    await this.liveness.release(this.txKey(tid), this.lockOwner(tid));
  }

  /** Releases a lock of this process; retried by the heartbeat when Redis does not confirm (CLU-6). */
  release(key: string, owner: string, takenAgain?: () => boolean): Promise<void> {
    return this.liveness.release(key, owner, takenAgain);
  }

  /**
   * 'live' while the transaction's liveness key is held by a live process; 'dead' when that
   * process is dead (CLU-6); 'unknown' without a key (finished, never clustered, or dropped by a
   * Redis restart: then only the quiet period tells, CLU-4).
   */
  async txLiveness(tid: string): Promise<TxLiveness> {
    const owner = await this.coordinator(() => this.env.coordinator.owner(this.txKey(tid)));
    if (owner === null) return this.dead.has(tid) ? 'dead' : 'unknown';
    if (!(await this.isDeadOwner(owner))) return 'live';
    this.noteDead(holderOf(owner));
    return 'dead';
  }

  async isLive(tid: string): Promise<boolean> {
    return (await this.txLiveness(tid)) === 'live';
  }

  /** Whether `owner` (a lock's owner string) names a dead process (CLU-6). */
  isDeadOwner(owner: string): Promise<boolean> {
    return this.coordinator(() => this.liveness.isDeadOwner(owner));
  }

  /** Remembers a transaction of a dead process: its logs need no quiet period before recovery. */
  noteDead(tid: string): void {
    this.dead.add(tid);
    if (this.dead.size > 10_000) this.dead.delete(this.dead.values().next().value!);
  }

  /**
   * Brings this process's view of a store up to date when another process committed to it
   * since (spec CLU-1): registry and info are re-read from disk. `force` skips the stamp check
   * (commit-time validation must see the disk, not a stamp that a failed write left behind).
   */
  async refresh(store: Store, force = false): Promise<void> {
    const stamp = await this.stamp(store.name);
    if (!force && stamp !== null && this.seen.get(store.name) === stamp) return;
    await store.registry.reload();
    const info = await this.readInfo(store);
    if (info.commitSeq >= store.info.commitSeq) store.info = info;
    if (stamp === null) this.seen.delete(store.name);
    else this.seen.set(store.name, stamp);
  }

  /**
   * CLU-4: a transaction without a liveness lock and without a priority log is undone only
   * after this process watched its logs unchanged for `graceMs` on its own monotonic clock, so
   * wall-clock jumps, rewinds and skew between hosts never make a running transaction look dead.
   */
  quietLongEnough(tid: string, mtimeMs: number, graceMs: number): boolean {
    if (this.dead.has(tid)) return true; // its process is dead (CLU-6): nothing can still change it
    const now = this.env.clock.monotonic();
    const seen = this.quiet.get(tid);
    if (!seen || seen.mtimeMs !== mtimeMs) {
      this.quiet.set(tid, { mtimeMs, since: now });
      if (this.quiet.size > 10_000) this.quiet.delete(this.quiet.keys().next().value!);
      return graceMs <= 0;
    }
    return now - seen.since >= graceMs;
  }

  /** Re-reads a store's info (count, commit sequence) from disk; called under its store lock. */
  async refreshInfo(store: Store): Promise<void> {
    const info = await this.readInfo(store);
    if (info.commitSeq >= store.info.commitSeq) store.info = info;
  }

  /** After a commit is on disk and published: tells other processes to reload these stores. */
  async committed(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const key = this.stampKey(name);
      await this.env.coordinator.cacheSet(key, TEXT.encode(this.env.random.uuid()), STAMP_TTL_MS).catch(() => undefined); // a lost stamp only makes other processes reload later (CLU-1: they still validate under locks)
    }
  }

  /**
   * A reader may commit only if no node it read belongs to a commit still in flight: a commit
   * holds its node locks from before its first sector write until after its last, so a reader
   * that reloaded and then sees no lock cannot hold half of another commit (spec CLU-1).
   */
  async assertNotInFlight(nodeIds: Iterable<string>, takeOver: (owner: string, key: string) => Promise<void>): Promise<void> {
    for (const id of nodeIds) {
      const key = `${this.namespace}:n:${id}`;
      const owner = await this.coordinator(() => this.env.coordinator.owner(key));
      if (owner === null) continue;
      // A dead committer's lock says nothing about a commit in flight: recover it, break the lock (CLU-6).
      if (await this.isDeadOwner(owner)) await takeOver(owner, key);
      else throw new SopError('CONFLICT', `node ${id} is being committed by transaction ${owner}; retry`);
    }
  }

  /**
   * True when the Coordinator lost its state since this process last adopted its run id (a
   * Redis restart): every lock and stamp is gone, so committed-but-unapplied priority logs must
   * be redone before anyone validates against the registry (spec CLU-5, the restart fast path).
   * `throttled` checks at most once a second (transaction begin); commits always check.
   */
  async restarted(throttled: boolean): Promise<boolean> {
    const now = this.env.clock.monotonic();
    if (throttled && now - this.lastRunIdCheck < RUN_ID_CHECK_MS) return false;
    this.lastRunIdCheck = now;
    const id = await this.coordinator(() => this.env.coordinator.runId());
    this.lastSeenRunId = id;
    if (this.adoptedRunId === null) this.adoptedRunId = id;
    return id !== this.adoptedRunId;
  }

  /** Called once the fast path ran for the run id `restarted()` saw last. */
  adoptRunId(): void {
    this.adoptedRunId = this.lastSeenRunId;
    this.seen.clear();
  }

  private async stamp(name: string): Promise<string | null> {
    const bytes = await this.coordinator(() => this.env.coordinator.cacheGet(this.stampKey(name)));
    return bytes === null ? null : UTF8.decode(bytes);
  }

  private stampKey(name: string): string {
    return `${this.namespace}:stamp:${name}`;
  }

  private async coordinator<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (SopError.is(error)) throw error;
      throw new SopError('UNAVAILABLE', `coordinator: ${toSopError(error, 'cluster').message}`, { cause: error });
    }
  }
}
