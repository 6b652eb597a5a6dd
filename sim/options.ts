import { CRASH_POINTS, type CrashPoint } from '../src/ports/points.js';
import type { SeededSimRandom } from './random.js';
import type { WorkloadConfig } from './workload.js';

/** Fault kinds the nemesis can inject; `sop sim --faults` selects among them. */
export const FAULT_KINDS = [
  'crash-io',
  'crash-point',
  'disk-offline',
  'disk-eio-write',
  'disk-eio-sync',
  'disk-enospc',
  'disk-slow',
  'media-latent-read',
  'media-bit-rot',
  'redis-restart',
  'redis-reply-lost',
  'redis-latency',
  'redis-cutoff',
  'clock-jump',
  'clock-rewind',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface RunOptions {
  readonly seed: number;
  /** Client transactions in the fault phase. */
  readonly steps: number;
  readonly clients: number;
  /** Application processes sharing the disk and Redis: more than 1 runs clustered mode (spec CLU-*). */
  readonly nodes?: number;
  readonly faults: readonly FaultKind[];
  /** How many of the last events a failing run keeps for its readable trace (default 200). */
  readonly traceEvents?: number;
  /**
   * A fault beyond what one disk can survive, injected once mid-run: the run must then report
   * a violation (fail loudly), never pass (tests/sim/breaks.test.ts).
   */
  readonly beyondBudget?: 'drive-loss' | 'misdirected-write';
  /** Wraps each incarnation's FileSystem (fault-injection breaks and decorators). */
  readonly wrapFs?: (fs: import('../src/ports/file-system.js').FileSystem) => import('../src/ports/file-system.js').FileSystem;
}

/** Everything a seed expands into (swarm testing: each seed stresses another subset). */
export interface Scenario {
  readonly workload: WorkloadConfig;
  readonly enabled: ReadonlySet<FaultKind>;
  readonly useRedis: boolean;
  readonly nodes: number;
  readonly registryHashMod: number;
  readonly nodeCacheSize: number;
  readonly crashAtPoint: number;
  readonly crashAtIo: number;
  readonly focusPoint: CrashPoint | undefined;
}

export function scenario(random: SeededSimRandom, options: RunOptions): Scenario {
  const enabled = new Set(options.faults.filter(() => random.chance(0.5, 'swarm.fault')));
  return {
    workload: {
      listKeys: 2 + random.int(8, 'swarm.keys'),
      accounts: 3 + random.int(12, 'swarm.accounts'),
      slotLength: random.pick([2, 3, 4, 8, 64], 'swarm.slot'),
      blobValues: random.chance(0.5, 'swarm.blobs'),
    },
    enabled,
    useRedis: [...enabled].some((k) => k.startsWith('redis')) || random.chance(0.3, 'swarm.redis') || (options.nodes ?? 1) > 1,
    nodes: options.nodes ?? 1,
    registryHashMod: random.pick([1, 2, 5, 16], 'swarm.hashMod'),
    nodeCacheSize: random.pick([4, 64, 10_000], 'swarm.cache'),
    crashAtPoint: enabled.has('crash-point') ? 0.002 + random.float('swarm.pp') * 0.02 : 0,
    crashAtIo: enabled.has('crash-io') ? 0.0005 + random.float('swarm.pi') * 0.003 : 0,
    focusPoint: enabled.has('crash-point') ? random.pick(CRASH_POINTS, 'swarm.focus') : undefined,
  };
}

export function describeScenario(s: Scenario): string {
  const w = s.workload;
  return [
    `keys=${w.listKeys} accounts=${w.accounts} slot=${w.slotLength} blobValues=${w.blobValues}`,
    `${s.nodes > 1 ? `nodes=${s.nodes} ` : ''}redis=${s.useRedis} hashMod=${s.registryHashMod} cache=${s.nodeCacheSize}`,
    `faults=${[...s.enabled].join(',') || 'none'}${s.focusPoint ? ` focus=${s.focusPoint}` : ''}`,
  ].join(' ');
}
