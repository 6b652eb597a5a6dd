import { invalid } from '../../errors/sop-error.js';

/** A parsed semantic version (semver.org 2.0.0), without build metadata. */
export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Pre-release identifiers: numbers (bigint beyond 2^53) or alphanumeric strings; empty for a release. */
  readonly prerelease: ReadonlyArray<number | bigint | string>;
}

const NUM = '0|[1-9]\\d*';
const PRE_ID = `(?:${NUM}|\\d*[a-zA-Z-][0-9a-zA-Z-]*)`;
const SEMVER = new RegExp(`^(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(\\+[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*)?$`);

/**
 * Parses a version strictly: MAJOR.MINOR.PATCH without leading zeros, an optional pre-release;
 * '1.0', 'latest', '01.2.3', 'v1.2.3' are INVALID_ARGUMENT. Build metadata ('+build') is refused
 * too: it takes no part in precedence, so two versions differing only there could not be told
 * apart by the registry's key. Major, minor and patch must be safe integers (as npm requires).
 */
export function parseSemver(version: unknown): SemVer {
  const m = typeof version === 'string' && version.length <= 256 ? SEMVER.exec(version) : null;
  if (!m) throw invalid(`${JSON.stringify(version)} is not a semantic version (MAJOR.MINOR.PATCH[-PRERELEASE], e.g. 1.2.3 or 2.0.0-rc.1)`);
  if (m[5] !== undefined) throw invalid(`version ${version as string}: build metadata (${m[5]}) is not supported, it does not order versions`);
  const [major, minor, patch] = [m[1]!, m[2]!, m[3]!].map(Number) as [number, number, number];
  if (![major, minor, patch].every(Number.isSafeInteger)) throw invalid(`version ${version as string}: major, minor and patch must be at most ${Number.MAX_SAFE_INTEGER}`);
  const prerelease = m[4] === undefined ? [] : m[4].split('.').map(preId);
  return { major, minor, patch, prerelease };
}

function preId(id: string): number | bigint | string {
  if (!/^\d+$/.test(id)) return id;
  const n = Number(id);
  return Number.isSafeInteger(n) ? n : BigInt(id);
}

export function formatSemver(v: SemVer): string {
  const core = `${v.major}.${v.minor}.${v.patch}`;
  return v.prerelease.length === 0 ? core : `${core}-${v.prerelease.map(String).join('.')}`;
}

/**
 * Semver precedence: core numbers numerically; a pre-release ranks below its release;
 * identifiers compare numbers numerically, numbers below strings, strings by ASCII; a longer
 * list ranks above its own prefix.
 */
export function compareSemver(a: SemVer, b: SemVer): number {
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  if (a.prerelease.length === 0 || b.prerelease.length === 0) return (a.prerelease.length === 0 ? 1 : 0) - (b.prerelease.length === 0 ? 1 : 0);
  const n = Math.min(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < n; i++) {
    const c = compareId(a.prerelease[i]!, b.prerelease[i]!);
    if (c !== 0) return c;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}

function compareId(x: number | bigint | string, y: number | bigint | string): number {
  const xs = typeof x === 'string';
  const ys = typeof y === 'string';
  if (xs !== ys) return xs ? 1 : -1;
  return x < y ? -1 : x > y ? 1 : 0;
}
