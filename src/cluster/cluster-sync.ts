import { SopError, toSopError } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';
import type { SectorGuard } from '../registry/registry.js';
import type { Store } from '../store/store.js';
import { withClaimFiles } from './claim-files.js';
import { withClusterLocks } from './cluster-lock.js';
import { joinPath } from '../util/paths.js';

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
  ) {}

  /** Registry sector rewrites exclude each other across processes: Redis lock, then claim file (spec CLU-2). */
  readonly sectorGuard: SectorGuard = (store, sectors, task) =>
    withClusterLocks(this.env, sectors.map((s) => `${this.namespace}:sec:${store}:${s}`), () =>
      withClaimFiles(this.env, this.claimDir(store), sectors.map((s) => `sector-${s}`), task),
    );

  /** Count updates of these stores exclude each other across processes: Redis locks, then claim files (spec CLU-3). */
  withStoreLocks<T>(names: readonly string[], task: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(names)].sort();
    const claimed = sorted.reduceRight<() => Promise<T>>((inner, name) => () => withClaimFiles(this.env, this.claimDir(name), ['count'], inner), task);
    return withClusterLocks(this.env, sorted.map((n) => `${this.namespace}:si:${n}`), claimed);
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
    const other = await this.coordinator(() => this.env.coordinator.lock(this.txKey(tid), tid, ttlMs));
    if (other !== null) throw new SopError('CONFLICT', `transaction id ${tid} is held by ${other}`);
  }

  async releaseLiveness(tid: string): Promise<void> {
    await this.coordinator(() => this.env.coordinator.unlock(this.txKey(tid), tid));
  }

  async isLive(tid: string): Promise<boolean> {
    return (await this.coordinator(() => this.env.coordinator.owner(this.txKey(tid)))) !== null;
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
      await this.env.coordinator.cacheSet(key, TEXT.encode(this.env.random.uuid()), STAMP_TTL_MS).catch(() => undefined);
    }
  }

  /**
   * A reader may commit only if no node it read belongs to a commit still in flight: a commit
   * holds its node locks from before its first sector write until after its last, so a reader
   * that reloaded and then sees no lock cannot hold half of another commit (spec CLU-1).
   */
  async assertNotInFlight(nodeIds: Iterable<string>): Promise<void> {
    for (const id of nodeIds) {
      const owner = await this.coordinator(() => this.env.coordinator.owner(`${this.namespace}:n:${id}`));
      if (owner !== null) throw new SopError('CONFLICT', `node ${id} is being committed by transaction ${owner}; retry`);
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
