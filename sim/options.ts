import { CRASH_POINTS, type CrashPoint } from '../src/ports/points.js';
import type { EcGeometry } from './ec-drives.js';
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
  'ec-drive-loss',
  'ec-shard-rot',
  'repl-drive-loss',
  'repl-bit-rot',
  'process-kill',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Faults of erasure-coded drives: only runs with erasure coding inject them (standalone runs only). */
export const EC_FAULT_KINDS: readonly FaultKind[] = ['ec-drive-loss', 'ec-shard-rot'];

/** Share of standalone seeds that store their blobs erasure coded (spec EC-1..EC-3). */
export const EC_SEED_SHARE = 0.2;

/** Faults of the two replicated drives: only runs with replication inject them (standalone runs only). */
export const REPL_FAULT_KINDS: readonly FaultKind[] = ['repl-drive-loss', 'repl-bit-rot'];

/** Share of standalone seeds that commit through the journal (spec JNL-1..JNL-4), erasure coded ones included. */
export const JOURNAL_SEED_SHARE = 0.35;

/** The crash points of the in-place protocol: seeds without journal mode focus on one of these. */
const IN_PLACE_POINTS = CRASH_POINTS.filter((p) => !p.startsWith('journal.'));
const JOURNAL_POINTS = CRASH_POINTS.filter((p) => p.startsWith('journal.') || p === 'store.afterCreate');

/** Share of standalone seeds that replicate their folder onto a second drive folder (spec REPL-1..REPL-5). */
export const REPL_SEED_SHARE = 0.2;

/** Fault kinds only some standalone seeds can inject (erasure coding, replication). */
export const DRIVE_FAULT_KINDS: readonly FaultKind[] = [...EC_FAULT_KINDS, ...REPL_FAULT_KINDS];

/** Faults only clustered runs inject: one process SIGKILLed (mostly mid-commit) while the others go on (spec CLU-6). */
export const CLUSTER_FAULT_KINDS: readonly FaultKind[] = ['process-kill'];

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
  readonly beyondBudget?: BeyondBudget;
  /**
   * Erasure-coded blobs on folders /ec/d0.. of the simulated disk: true or false forces it;
   * absent, each standalone seed draws it (EC_SEED_SHARE). Clustered runs never use it.
   */
  readonly erasureCoding?: boolean;
  /**
   * Active/passive replication of /db onto /replica of the simulated disk: true or false forces
   * it; absent, each standalone seed draws it (REPL_SEED_SHARE). Clustered runs never use it.
   */
  readonly replication?: boolean;
  /**
   * Journal mode (spec JNL-1..JNL-4): true or false forces it; absent, each standalone seed
   * draws it, erasure coded or not (JOURNAL_SEED_SHARE). Clustered runs never use it.
   */
  readonly journal?: boolean;
  /** Wraps each incarnation's FileSystem (fault-injection breaks and decorators). */
  readonly wrapFs?: (fs: import('../src/ports/file-system.js').FileSystem) => import('../src/ports/file-system.js').FileSystem;
}

/**
 * Beyond-budget faults: the whole disk lost, one misdirected write, more than P erasure-coded
 * drives replaced by empty ones (the run then uses erasure coding), or both replicated drives
 * lost (the run then uses replication).
 */
export type BeyondBudget = 'drive-loss' | 'misdirected-write' | 'ec-drive-loss' | 'repl-both-drives';

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
  /** Erasure coding of every store's blobs, or null (blobs are local files). */
  readonly erasure: EcGeometry | null;
  /** The passive drive folder of a replicated run (the active one is the database folder), or null. */
  readonly replica: string | null;
  /** Journal mode and its checkpoint threshold (small ones checkpoint often), or null. */
  readonly journal: { maxRecords: number; blockingSync?: boolean } | null;
}

export function scenario(random: SeededSimRandom, options: RunOptions): Scenario {
  const isEc = (k: FaultKind): boolean => EC_FAULT_KINDS.includes(k);
  const isRepl = (k: FaultKind): boolean => REPL_FAULT_KINDS.includes(k);
  const isCluster = (k: FaultKind): boolean => CLUSTER_FAULT_KINDS.includes(k);
  const enabled = new Set(options.faults.filter((k) => !isEc(k) && !isRepl(k) && !isCluster(k)).filter(() => random.chance(0.5, 'swarm.fault')));
  const s = {
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
    focusPoint: enabled.has('crash-point') ? random.pick(IN_PLACE_POINTS, 'swarm.focus') : (undefined as CrashPoint | undefined),
  };
  // Erasure coding is drawn last, so a seed that does not use it keeps the scenario it always had.
  const nodes = options.nodes ?? 1;
  // Clustered runs never use it (several processes repairing the same drives is not supported).
  // Always drawn (it is the swarm stream's last use), so forcing it keeps the seed's geometry.
  const drawn = random.chance(EC_SEED_SHARE, 'swarm.ec');
  const ec = nodes === 1 && (options.beyondBudget === 'ec-drive-loss' || (options.erasureCoding ?? drawn));
  let erasure: EcGeometry | null = null;
  if (ec) {
    const [dataShards, parityShards] = random.pick([[2, 1], [4, 2]] as const, 'swarm.ec.geometry');
    for (const kind of options.faults.filter(isEc)) if (random.chance(0.5, 'swarm.ec.fault')) enabled.add(kind);
    const drives = Array.from({ length: dataShards + parityShards }, (_, d) => `/ec/d${d}`);
    erasure = { dataShards, parityShards, drives };
  }
  // Replication is drawn after everything else (and always drawn), so a seed that does not use
  // it keeps the scenario and trace hash it had before replication joined the simulator.
  const replDrawn = random.chance(REPL_SEED_SHARE, 'swarm.repl');
  const repl = nodes === 1 && (options.beyondBudget === 'repl-both-drives' || (options.replication ?? replDrawn));
  if (repl) for (const kind of options.faults.filter(isRepl)) if (random.chance(0.5, 'swarm.repl.fault')) enabled.add(kind);
  // Journal mode is drawn last of all, for the same reason.
  const journalDrawn = random.chance(JOURNAL_SEED_SHARE, 'swarm.journal');
  const journal = nodes === 1 && (options.journal ?? journalDrawn) ? { maxRecords: random.pick([1, 3, 16, 1024], 'swarm.journal.records') } : null;
  // Half the journal runs append with the blocking write + sync (FileHandle.writeAndSyncBlocking).
  if (journal && random.chance(0.5, 'swarm.journal.blocking')) Object.assign(journal, { blockingSync: true });
  // Clustered faults are drawn after everything else, for clustered runs only.
  if (nodes > 1) for (const kind of options.faults.filter(isCluster)) if (random.chance(0.7, 'swarm.cluster.fault')) enabled.add(kind);
  // Journal commits never reach the in-place commit points: focus on the ones they do reach.
  const focusPoint = journal && s.focusPoint ? random.pick(JOURNAL_POINTS, 'swarm.journal.focus') : s.focusPoint;
  return { ...s, focusPoint, erasure, replica: repl ? REPLICA_FOLDER : null, journal };
}

/** The passive drive folder of replicated runs (drive 0 is the database folder /db). */
export const REPLICA_FOLDER = '/replica';

export function describeScenario(s: Scenario): string {
  const w = s.workload;
  return [
    `keys=${w.listKeys} accounts=${w.accounts} slot=${w.slotLength} blobValues=${w.blobValues}`,
    `${s.nodes > 1 ? `nodes=${s.nodes} ` : ''}redis=${s.useRedis} hashMod=${s.registryHashMod} cache=${s.nodeCacheSize}`,
    `faults=${[...s.enabled].join(',') || 'none'}${s.focusPoint ? ` focus=${s.focusPoint}` : ''}${s.erasure ? ` ec=${s.erasure.dataShards}+${s.erasure.parityShards}` : ''}${s.replica ? ' replicated' : ''}${s.journal ? ` journal=${s.journal.maxRecords}${s.journal.blockingSync ? '/blocking' : ''}` : ''}`,
  ].join(' ');
}
