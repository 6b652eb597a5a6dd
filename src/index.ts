/**
 * sop-ts public API. The names exported here are the stable surface (README "API").
 */
export { Database, type TransactionRunOptions } from './database/database.js';
export type { Btree, RangeOptions } from './database/btree.js';
export type { BtreeOptions, DatabaseOptions, KeyField } from './database/options.js';
export type { StoreCheck } from './database/check.js';
export type { Transaction, TransactionMode, TransactionOptions, TransactionState } from './txn/transaction.js';
export type { RecoveryReport } from './txn/recovery.js';
export { SopError, ERROR_CODES, type SopErrorCode } from './errors/sop-error.js';
export type { Env } from './ports/env.js';
export type { FileSystem, FileHandle, FileStat, OpenMode } from './ports/file-system.js';
export type { Clock } from './ports/clock.js';
export type { Random } from './ports/random.js';
export type { Coordinator } from './ports/coordinator.js';
export { NodeFileSystem } from './adapters/node-file-system.js';
export { SystemClock } from './adapters/system-clock.js';
export { SeededRandom } from './adapters/seeded-random.js';
export { MemoryCoordinator } from './adapters/memory-coordinator.js';
export { realEnv } from './adapters/real-env.js';
export type { ReplicationOptions, ReplicationInfo } from './replication/replication.js';
export type { ReplicationEvent } from './replication/replicated-fs.js';
export type { ReinstateProgress, ReinstateReport } from './replication/reinstate.js';
export { FAILOVER_QUALIFIED_CODES } from './replication/qualify.js';
