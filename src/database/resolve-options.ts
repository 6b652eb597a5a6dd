import { resolve } from 'node:path';
import { invalid } from '../errors/sop-error.js';
import { type ErasureCoding, validateErasureCoding } from '../ec/config.js';
import type { JournalOptions } from '../journal/journal.js';
import type { Env } from '../ports/env.js';
import type { MaintenanceOptions } from '../txn/maintenance.js';
import { DEFAULT_HASH_MOD, type DatabaseOptions } from './options.js';

/** Every option of `Database.open`, checked and defaulted once, before anything is written (the only place either happens). */
export interface ResolvedOptions {
  /** Absolute, '/'-separated. */
  readonly folder: string;
  readonly mode: 'standalone' | 'clustered';
  readonly redis: DatabaseOptions['redis'];
  readonly redisOptions: DatabaseOptions['redisOptions'];
  readonly clusterGraceMs: number;
  readonly clusterLivenessMs: number;
  /** For a new folder; an existing one keeps the hash mod it was created with. */
  readonly registryHashMod: number | undefined;
  readonly nodeCacheSize: number;
  readonly maintenance: Required<MaintenanceOptions>;
  readonly env: Env | undefined;
  readonly erasureCoding: ErasureCoding | null;
  /** The passive drive's absolute folder. */
  readonly replication: { readonly passive: string } | null;
  readonly journal: Required<JournalOptions> | null;
  readonly fallback: string | undefined;
}

const KNOWN = new Set(['folder', 'mode', 'redis', 'redisOptions', 'clusterGraceMs', 'clusterLivenessMs', 'registryHashMod', 'nodeCacheSize', 'maintenance', 'env', 'erasureCoding', 'replication', 'journal', 'fallback']);

export const DEFAULTS = {
  clusterGraceMs: 10_000,
  clusterLivenessMs: 2_000,
  nodeCacheSize: 20_000,
  sweepIntervalMs: 5 * 60_000,
  busySweepIntervalMs: 2 * 60_000,
  journal: { maxRecords: 1024, maxBytes: 64 * 1024 * 1024, maxHeldBytes: 256 * 1024 * 1024, blockingSync: false },
} as const;

export function resolveOptions(options: DatabaseOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object { folder, ... }');
  const unknown = Object.keys(options).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) throw invalid(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${[...KNOWN].join(', ')})`);
  const folder = absolute(options.folder, 'folder');
  const mode = options.mode ?? 'standalone';
  if (mode !== 'standalone' && mode !== 'clustered') throw invalid(`mode must be 'standalone' or 'clustered', got ${JSON.stringify(options.mode)}`);
  if (mode === 'clustered' && options.redis === undefined && options.env === undefined) {
    throw invalid("mode 'clustered' needs options.redis (a redis:// URL, ioredis options or { cluster: [...] })");
  }
  if (options.redisOptions !== undefined && (options.redisOptions === null || typeof options.redisOptions !== 'object')) throw invalid('redisOptions must be an object');
  if (options.env !== undefined && (options.env === null || typeof options.env !== 'object' || !options.env.fs)) throw invalid('env must be an Env { fs, clock, random, coordinator }');
  if (options.fallback !== undefined && (typeof options.fallback !== 'string' || options.fallback.length === 0)) throw invalid('fallback must be a non-empty file path');
  const erasureCoding = options.erasureCoding === undefined ? null : validateErasureCoding(options.erasureCoding);
  const replication = resolveReplication(options.replication, folder, mode);
  return {
    folder, mode, redis: options.redis, redisOptions: options.redisOptions, env: options.env, erasureCoding, replication,
    clusterGraceMs: number(options.clusterGraceMs, 'clusterGraceMs', 0, DEFAULTS.clusterGraceMs),
    clusterLivenessMs: integer(options.clusterLivenessMs, 'clusterLivenessMs', 100, 600_000, DEFAULTS.clusterLivenessMs),
    registryHashMod: options.registryHashMod === undefined ? undefined : integer(options.registryHashMod, 'registryHashMod', 1, 100_000, DEFAULT_HASH_MOD),
    nodeCacheSize: integer(options.nodeCacheSize, 'nodeCacheSize', 1, 100_000_000, DEFAULTS.nodeCacheSize),
    maintenance: resolveMaintenance(options.maintenance),
    journal: resolveJournal(options.journal, mode),
    fallback: options.fallback,
  };
}

function resolveMaintenance(m: MaintenanceOptions | undefined): Required<MaintenanceOptions> {
  if (m !== undefined && (m === null || typeof m !== 'object')) throw invalid('maintenance must be an object { sweepIntervalMs?, busySweepIntervalMs? }');
  return {
    sweepIntervalMs: number(m?.sweepIntervalMs, 'maintenance.sweepIntervalMs', 0, DEFAULTS.sweepIntervalMs),
    busySweepIntervalMs: number(m?.busySweepIntervalMs, 'maintenance.busySweepIntervalMs', 0, DEFAULTS.busySweepIntervalMs),
  };
}

/** Journal mode needs one process (spec JNL-1); erasure-coded blobs are coded at the checkpoint. */
function resolveJournal(j: DatabaseOptions['journal'], mode: string): Required<JournalOptions> | null {
  if (j === false || (j === undefined && mode === 'clustered')) return null; // clustered: per-process journals are not built yet
  if (j === undefined) j = true; // the default: one synced append per commit (spec JNL-1)
  if (j !== true && (typeof j !== 'object' || j === null)) throw invalid('journal must be a boolean or { maxRecords?, maxBytes?, maxHeldBytes?, blockingSync? }');
  if (mode === 'clustered') throw invalid('journal mode is standalone only');
  const given: JournalOptions = j === true ? {} : j;
  if (given.blockingSync !== undefined && typeof given.blockingSync !== 'boolean') throw invalid('journal.blockingSync must be a boolean');
  const d = DEFAULTS.journal;
  return {
    maxRecords: integer(given.maxRecords, 'journal.maxRecords', 1, Number.MAX_SAFE_INTEGER, d.maxRecords),
    maxBytes: integer(given.maxBytes, 'journal.maxBytes', 1, Number.MAX_SAFE_INTEGER, d.maxBytes),
    maxHeldBytes: integer(given.maxHeldBytes, 'journal.maxHeldBytes', 1, Number.MAX_SAFE_INTEGER, d.maxHeldBytes),
    blockingSync: given.blockingSync ?? d.blockingSync,
  };
}

function resolveReplication(r: DatabaseOptions['replication'], folder: string, mode: string): { passive: string } | null {
  if (r === undefined) return null;
  if (r === null || typeof r !== 'object') throw invalid('replication must be an object { passive: folder }');
  const passive = absolute(r.passive, 'replication.passive');
  if (mode === 'clustered') throw invalid('replication is available in standalone mode only (every process would need to see a failover at once: not built yet)');
  const nested = (a: string, b: string): boolean => a === b || a.startsWith(`${b}/`);
  if (nested(passive, folder) || nested(folder, passive)) throw invalid(`replication.passive ${passive} must be outside folder ${folder} and not contain it`);
  return { passive };
}

function absolute(path: unknown, name: string): string {
  if (typeof path !== 'string' || path.length === 0) throw invalid(`options.${name} must be a non-empty string`);
  if (path.includes('\0')) throw invalid(`options.${name} must not contain NUL`);
  return resolve(path).replace(/\\/g, '/');
}

function number(value: unknown, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw invalid(`${name} must be a finite number >= ${min}, got ${JSON.stringify(value)}`);
  return value;
}

function integer(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) throw invalid(`${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  return value as number;
}
