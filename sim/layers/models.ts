/**
 * The model registry under faults (spec MODEL-1..MODEL-3): puts and removes of versions of two
 * models, each in the same transaction as an index B-tree entry naming the same write, and reads
 * of a version, of versions() and of latest(). Operations on one model never overlap, so the
 * checker knows the possible records of every version (possible.ts). Checker: every committed
 * read and the final state agree with the history; versions() is in semver order and latest()
 * is its highest release; registry and index agree on every version (atomic commits).
 */
import type { Database } from '../../src/database/database.js';
import { type ModelRegistry, compareSemver, parseSemver } from '../../src/layers/models/index.js';
import type { Btree } from '../../src/database/btree.js';
import type { Transaction } from '../../src/txn/transaction.js';
import type { SeededSimRandom } from '../random.js';
import type { Guard, LayerRun, LayerWorkload } from './index.js';
import { Possible } from './possible.js';

const REGISTRY = 'models';
const INDEX = 'modelindex';
const MODELS = ['m0', 'm1'];
const VERSIONS = ['0.1.0', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.1.0-beta.2', '1.1.0-beta.10', '2.0.0'];

/** The record of write `op`: which write put it (null: no such version). */
type Record = number | null;

export const modelsWorkload: LayerWorkload = {
  name: 'models',
  invariants: ['MODEL-1', 'MODEL-2', 'MODEL-3'],
  weight: 0.1,
  start: (random) => new ModelsRun(random),
};

class ModelsRun implements LayerRun {
  private readonly records = new Map(MODELS.flatMap((m) => VERSIONS.map((v) => [key(m, v), new Possible<Record>(null, (a, b) => a === b)] as const)));
  private readonly busy = new Set<string>();
  private readonly problems: string[] = [];
  private nextOp = 1;

  constructor(private readonly random: SeededSimRandom) {}

  async setup(db: Database): Promise<void> {
    await db.transaction('write', async (tx) => {
      await db.newModelRegistry(tx, REGISTRY);
      await db.newBtree(tx, INDEX, { slotLength: 8 });
    }, { retries: 100 });
  }

  async step(db: Database, guard: Guard): Promise<void> {
    const model = this.random.pick(MODELS, 'models.model');
    if (this.busy.has(model)) return;
    this.busy.add(model);
    try {
      const r = this.random.float('models.op');
      const version = this.random.pick(VERSIONS, 'models.version');
      if (r < 0.4) await this.put(db, guard, model, version);
      else if (r < 0.55) await this.remove(db, guard, model, version);
      else await this.read(db, guard, model);
    } finally {
      this.busy.delete(model);
    }
  }

  /** A put and its index entry in one transaction: both or neither commit (MODEL-3). */
  private async put(db: Database, guard: Guard, model: string, version: string): Promise<void> {
    const op = this.nextOp++;
    const outcome = await guard('write', async (tx) => {
      const { registry, index } = await open(db, tx);
      await registry.put(model, version, { op, weights: Uint8Array.of(op & 0xff, op >> 8) });
      await index.upsert(key(model, version), op);
    });
    this.records.get(key(model, version))!.apply(outcome, () => op);
  }

  private async remove(db: Database, guard: Guard, model: string, version: string): Promise<void> {
    const outcome = await guard('write', async (tx) => {
      const { registry, index } = await open(db, tx);
      await registry.remove(model, version);
      await index.remove(key(model, version));
    });
    this.records.get(key(model, version))!.apply(outcome, () => null);
  }

  /** versions(), latest() and every record of one model, in one read transaction. */
  private async read(db: Database, guard: Guard, model: string): Promise<void> {
    let seen: Map<string, Record> | null = null;
    let found: string[] = [];
    const outcome = await guard('read', async (tx) => {
      found = []; // only what a read that committed saw counts: before its validation it may have seen anything
      seen = await snapshot(db, tx, model, found);
    });
    if (outcome !== 'ok' || !seen) return;
    this.problems.push(...found);
    for (const version of VERSIONS) {
      const got = (seen as Map<string, Record>).get(version) ?? null;
      const possible = this.records.get(key(model, version))!;
      if (!possible.observe((r) => r === got, { value: got })) this.problems.push(`${model}@${version}: a committed read saw ${got ?? 'no record'}, history allows ${possible.all!.join(', ')}`);
    }
  }

  async check(db: Database): Promise<string[]> {
    const problems = [...this.problems];
    for (const model of MODELS) {
      let found: string[] = [];
      const seen = await db.transaction('read', (tx) => snapshot(db, tx, model, (found = [])), { retries: 100 });
      problems.push(...found);
      for (const version of VERSIONS) {
        const got = seen.get(version) ?? null;
        const all = this.records.get(key(model, version))!.all;
        if (all && !all.includes(got)) problems.push(`${model}@${version}: final record ${got ?? 'absent'}, history allows ${all.map((r) => r ?? 'absent').join(', ')}`);
      }
    }
    return problems;
  }
}

function key(model: string, version: string): string {
  return `${model}@${version}`;
}

async function open(db: Database, tx: Transaction): Promise<{ registry: ModelRegistry; index: Btree<string, number> }> {
  return { registry: await db.openModelRegistry(tx, REGISTRY), index: await db.openBtree<string, number>(tx, INDEX) };
}

/**
 * One model as one read transaction sees it: version -> record op. Checks on the way that
 * versions() is in semver order, latest() is its highest release, and the index agrees.
 */
async function snapshot(db: Database, tx: Transaction, model: string, problems: string[]): Promise<Map<string, Record>> {
  const { registry, index } = await open(db, tx);
  const versions: string[] = [];
  for await (const v of registry.versions(model)) versions.push(v);
  const sorted = [...versions].sort((a, b) => compareSemver(parseSemver(a), parseSemver(b)));
  if (versions.join() !== sorted.join()) problems.push(`${model}: versions() out of semver order: ${versions.join(' ')}`);
  const releases = versions.filter((v) => !v.includes('-'));
  const latest = await registry.latest(model);
  if (latest !== releases[releases.length - 1]) problems.push(`${model}: latest() ${latest} but the releases are ${releases.join(' ')}`);
  const seen = new Map<string, Record>();
  for (const version of VERSIONS) {
    const record = (await registry.get(model, version)) as { op: number } | undefined;
    const indexed = (await index.find(key(model, version))) ? ((await index.getCurrentValue()) ?? null) : null;
    if ((record?.op ?? null) !== indexed) problems.push(`${model}@${version}: registry says ${record?.op ?? 'absent'}, the index ${indexed ?? 'absent'} (not atomic)`);
    if ((record !== undefined) !== versions.includes(version)) problems.push(`${model}@${version}: get() and versions() disagree`);
    seen.set(version, record?.op ?? null);
  }
  return seen;
}
