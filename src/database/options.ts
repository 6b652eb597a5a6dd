import type { KeyOrderSpec, UserKeyCompare } from '../codec/key-order.js';
import type { Env } from '../ports/env.js';
import type { MaintenanceOptions } from '../txn/maintenance.js';

export interface DatabaseOptions {
  /** Data folder; created when missing. Everything sop-ts writes stays inside it. */
  folder: string;
  /**
   * 'standalone' (default): one process, in-process coordination, no Redis.
   * 'clustered': many processes (on one or many hosts) share the folder and one Redis; ACID
   * across all of them, no leader (README "Clustered mode", spec CLU-1..CLU-5).
   */
  mode?: 'standalone' | 'clustered';
  /**
   * Clustered mode: where Redis is. A `redis://[user:password@]host:port[/db]` or `rediss://`
   * URL, ioredis options, an ioredis client, or `{ cluster: [nodes] }` for Redis Cluster.
   * Ignored when `env` supplies the Coordinator.
   */
  redis?: import('../adapters/redis-coordinator.js').RedisTarget;
  /** Clustered mode: Redis connection and command timeouts. */
  redisOptions?: import('../adapters/redis-coordinator.js').RedisCoordinatorOptions;
  /**
   * Clustered mode: a transaction without a liveness lock and without a priority log is undone
   * only once this process has seen its logs unchanged for this long (a Redis restart drops the
   * locks of live ones). Default 10 s.
   */
  clusterGraceMs?: number;
  /**
   * Clustered mode: how long a process may go without a heartbeat (its key in Redis, re-armed
   * five times per period) before other processes call it dead, recover its transactions and
   * break its locks (spec CLU-6). Default 2 s: after a SIGKILL, others commit on its keys
   * within about 4 s. A process paused longer (GC, swap) fails its commits in flight safely.
   */
  clusterLivenessMs?: number;
  /** Registry sectors per segment file (SOP's hash mod). Fixed when the folder is created. Default 250. */
  registryHashMod?: number;
  /** Capacity of the L1 node cache (decoded nodes). Default 20,000. */
  nodeCacheSize?: number;
  /** Cadence of the onIdle sweeps. */
  maintenance?: MaintenanceOptions;
  /** Ports to use instead of the real ones (simulator, fault injection). */
  env?: Env;
  /**
   * Erasure-code the node and value blobs of every store across `drives` (absolute folders, one
   * per disk; `drives.length` must equal `dataShards + parityShards`): reads survive any
   * `parityShards` lost, failing or corrupt drives (spec EC-1..EC-3). Checked at open
   * (INVALID_ARGUMENT when malformed). Registry, logs and store infos stay in `folder`.
   */
  erasureCoding?: { dataShards: number; parityShards: number; drives: string[] };
  /**
   * Active/passive replication of the folder onto a second drive (spec REPL-1..REPL-4): every
   * change under `folder` is mirrored to `passive` in the same call; an I/O error that qualifies
   * (EIO, ENOSPC, EROFS, ... see README) on the active drive fails over to the passive one,
   * durably, without losing an acknowledged commit; `db.reinstate()` brings a replaced drive
   * back. `folder` stays drive 0 and `passive` drive 1 for the life of the database.
   * Standalone mode only. Erasure-coded blob drives are not replicated (parity protects them).
   */
  replication?: import('../replication/replication.js').ReplicationOptions;
  /**
   * Journal mode (spec JNL-1..JNL-4): each commit is made durable by one record appended to
   * `translogs/journal.wal` (or `journal.2.wal`) and synced once (its node and value blobs or leaf
   * item changes, its registry sector after-images or patches, its store infos), instead of
   * syncing every file it changes in place. Blobs, sectors and infos then change in memory, and a
   * checkpoint, which commits do not wait for, writes and syncs them all (after `maxRecords` records, `maxBytes` of them or `maxHeldBytes` of blobs
   * held, each onIdle sweep, and at close). A crash replays the kept records at open. `true`
   * takes the defaults (1024 records, 64 MiB, 256 MiB). Works with replication and erasure coding
   * (blobs are coded at the checkpoint); standalone only (INVALID_ARGUMENT with
   * `mode: 'clustered'`). Default: on in standalone mode, off in clustered mode (per-process
   * journals are not built yet). `false` commits in place, the protocol SOP documents: every
   * file a commit changes is synced (about 12 syncs for a one-item commit).
   */
  journal?: boolean | import('../journal/journal.js').JournalOptions;
  /**
   * An export file (`db.export`, `sop export`): when the folder is missing, empty, or opening it
   * fails with CORRUPT, it is rebuilt from this file (the damaged folder is kept, renamed
   * `<folder>.damaged-<n>`) and `db.restoredFrom` says so (spec EXP-2). Standalone folders with
   * local blobs only.
   */
  fallback?: string;
}

/** A composite key field and its direction. */
export interface KeyField {
  field: string | number;
  order?: 'asc' | 'desc';
}

export interface BtreeOptions<K = unknown> {
  /** Maximum items per node, 2..10000. Default 500. */
  slotLength?: number;
  /** Unique keys (default true). */
  isUnique?: boolean;
  /** Values inside the node (default true) or each in its own blob. */
  valueInNode?: boolean;
  /** Composite key order: fields of an object (or indexes of an array) and their directions. */
  keyOrder?: KeyField[];
  /** A user comparer instead of the natural order; must be passed on every open. */
  comparer?: (a: K, b: K) => number;
  description?: string;
}

export const DEFAULT_SLOT_LENGTH = 500;
export const MAX_SLOT_LENGTH = 10_000;
export const DEFAULT_HASH_MOD = 250;

export type { KeyOrderSpec, UserKeyCompare };
