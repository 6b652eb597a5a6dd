import { invalid } from '../errors/sop-error.js';
import { reedSolomon } from './native.js';

/** `DatabaseOptions.erasureCoding`, validated: D data and P parity shards on D+P drive folders. */
export interface ErasureCoding {
  readonly dataShards: number;
  readonly parityShards: number;
  /** Absolute, '/'-separated, distinct; drive i holds shard i of every blob. */
  readonly drives: readonly string[];
}

/** Checks the option at open, so a bad geometry is INVALID_ARGUMENT before any blob is written. */
export function validateErasureCoding(value: unknown): ErasureCoding {
  if (value === null || typeof value !== 'object') throw invalid('erasureCoding must be an object { dataShards, parityShards, drives }');
  const { dataShards, parityShards, drives } = value as Record<string, unknown>;
  const isCount = (n: unknown, max: number): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= max;
  if (!isCount(dataShards, reedSolomon.MAX_K)) throw invalid(`erasureCoding.dataShards must be an integer in 1..${reedSolomon.MAX_K}`);
  if (!isCount(parityShards, reedSolomon.MAX_M)) throw invalid(`erasureCoding.parityShards must be an integer in 1..${reedSolomon.MAX_M}`);
  if (!Array.isArray(drives) || drives.length !== dataShards + parityShards) {
    throw invalid(`erasureCoding.drives must list dataShards + parityShards = ${dataShards + parityShards} folders`);
  }
  const normal = drives.map((drive: unknown) => {
    if (typeof drive !== 'string' || drive.length === 0) throw invalid('erasureCoding.drives must be non-empty strings');
    const path = drive.replace(/\\/g, '/').replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
    if (!path.startsWith('/') && !/^[A-Za-z]:\//.test(path)) throw invalid(`erasureCoding drive ${JSON.stringify(drive)} must be an absolute path`);
    return path;
  });
  if (new Set(normal).size !== normal.length) throw invalid('erasureCoding.drives must be distinct folders');
  return { dataShards, parityShards, drives: normal };
}
