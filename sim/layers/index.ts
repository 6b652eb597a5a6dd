import type { Database } from '../../src/database/database.js';
import type { Transaction } from '../../src/txn/transaction.js';
import type { Outcome } from '../history.js';
import type { SeededSimRandom } from '../random.js';
import { modelsWorkload } from './models.js';
import { streamWorkload } from './stream.js';
import { searchWorkload } from './search.js';
import { vectorWorkload } from './vector.js';

/** Runs `body` in a transaction of the given mode, with crash and fault handling; says how it ended. */
export type Guard = (mode: 'write' | 'read' | 'nocheck', body: (tx: Transaction) => Promise<void>) => Promise<Outcome>;

/**
 * One run of a layer workload (src/layers/): its own history, its steps during the fault phase,
 * and its checker after healing. Outcomes follow the list-append rules: 'ok' committed, 'fail'
 * did not, 'info' unknown (a crash or an error after the commit point).
 */
export interface LayerRun {
  /** Before faults start: creates the layer's stores. */
  setup(db: Database): Promise<void>;
  /** One client step during the fault phase (any number run concurrently). */
  step(db: Database, guard: Guard): Promise<void>;
  /** After healing: what is wrong with the final state against the history (empty: nothing). */
  check(db: Database): Promise<string[]>;
}

export interface LayerWorkload {
  readonly name: string;
  /** The spec invariants its checker holds the layer to. */
  readonly invariants: readonly string[];
  /** Share of a run's client steps it takes when drawn for the run (0..1). */
  readonly weight: number;
  start(random: SeededSimRandom): LayerRun;
}

/** The layer workloads; each is drawn for about half the runs (swarm testing). Register new ones here. */
export const LAYER_WORKLOADS: readonly LayerWorkload[] = [vectorWorkload, searchWorkload, streamWorkload, modelsWorkload];
