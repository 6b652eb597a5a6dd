import { corrupt } from '../../errors/sop-error.js';
import type { SemVer } from './semver.js';

/**
 * The registry's B-tree key: `[name, major, minor, patch, release, prerelease]` with
 * `release` 1 for a release and 0 for a pre-release. The engine's natural order compares arrays
 * element-wise, numbers (and bigints) numerically, numbers below strings and a prefix below its
 * extensions: exactly semver precedence, so the tree walks versions in semver order (spec MODEL-2).
 */
export type ModelKey = [string, number, number, number, 0 | 1, Array<number | bigint | string>];

export function modelKey(name: string, v: SemVer): ModelKey {
  return [name, v.major, v.minor, v.patch, v.prerelease.length === 0 ? 1 : 0, [...v.prerelease]];
}

/** The lowest key of `name`: every version of it sorts after. */
export function firstKeyOf(name: string): [string] {
  return [name];
}

/** A key above every version of `name` and below every version of the next name. */
export function pastKeyOf(name: string): [string, number] {
  return [name, Infinity];
}

export function versionOfKey(key: unknown): { name: string; version: SemVer } {
  const k = key as ModelKey;
  const ok = Array.isArray(k) && k.length === 6 && typeof k[0] === 'string' && [k[1], k[2], k[3]].every(Number.isSafeInteger) && (k[4] === 0 || k[4] === 1) && Array.isArray(k[5]) && (k[4] === 1) === (k[5].length === 0);
  if (!ok) throw corrupt(`model registry: malformed key ${String(key)}`);
  return { name: k[0], version: { major: k[1], minor: k[2], patch: k[3], prerelease: k[5] } };
}
