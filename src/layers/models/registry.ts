import type { Btree } from '../../database/btree.js';
import { isWellFormedString } from '../../codec/bytes.js';
import { invalid } from '../../errors/sop-error.js';
import type { Transaction } from '../../txn/transaction.js';
import type { OpLock } from '../stream/tx-state.js';
import { type ModelKey, firstKeyOf, modelKey, pastKeyOf, versionOfKey } from './key.js';
import { formatSemver, parseSemver } from './semver.js';

const MAX_MODEL_NAME = 256;
/** Versions `versions()` reads per walk: the cursor is shared, so it is re-seeked per batch. */
const VERSIONS_BATCH = 256;

/**
 * A model registry opened in one transaction: records by (model name, semver version), in the
 * caller's transaction, so a model and the data it was trained on commit together (MODEL-1..3).
 * A record is any value the engine stores: JSON-like data, Dates, bigints and Uint8Arrays
 * (weights inline, each record in its own blob), or the name of a stream in a stream store.
 */
export class ModelRegistry<R = unknown> {
  constructor(
    private readonly tx: Transaction,
    private readonly tree: Btree<ModelKey, R>,
    private readonly lock: OpLock,
    readonly name: string,
  ) {}

  /** Stores (or replaces) the record of `name` at `version`. */
  async put(name: string, version: string, record: R): Promise<void> {
    const key = modelKey(checkName(name), parseSemver(version));
    if (record === undefined) throw invalid('a model record must not be undefined');
    this.tx.ensureWritable();
    await this.lock.run(() => this.tree.upsert(key, record));
  }

  /** The record of `name` at `version`, or undefined. */
  async get(name: string, version: string): Promise<R | undefined> {
    const key = modelKey(checkName(name), parseSemver(version));
    return this.lock.run(async () => ((await this.tree.find(key)) ? this.tree.getCurrentValue() : undefined));
  }

  /** Removes one version; false when it was not there. */
  async remove(name: string, version: string): Promise<boolean> {
    const key = modelKey(checkName(name), parseSemver(version));
    this.tx.ensureWritable();
    return this.lock.run(() => this.tree.remove(key));
  }

  /**
   * The highest version of `name` without a pre-release tag (npm's "latest"), or undefined when
   * it has none. Walks back from the top without reading any record.
   */
  async latest(name: string): Promise<string | undefined> {
    checkName(name);
    return this.lock.run(async () => {
      const t = this.tree;
      await t.find(pastKeyOf(name) as unknown as ModelKey);
      let on = t.getCurrentKey() === undefined ? await t.last() : await t.previous();
      while (on) {
        const { name: at, version } = versionOfKey(t.getCurrentKey());
        if (at !== name) return undefined;
        if (version.prerelease.length === 0) return formatSemver(version);
        on = await t.previous();
      }
      return undefined;
    });
  }

  /** Every version of `name`, in semver order (pre-releases before their release). */
  async *versions(name: string): AsyncGenerator<string> {
    checkName(name);
    let after: ModelKey | undefined;
    for (;;) {
      const batch = await this.lock.run(() => this.keysAfter(name, after));
      yield* batch.map((k) => formatSemver(versionOfKey(k).version));
      if (batch.length < VERSIONS_BATCH) return;
      after = batch[batch.length - 1];
    }
  }

  /** Up to VERSIONS_BATCH keys of `name` after `after` (from the first when undefined); keys only, no record read. */
  private async keysAfter(name: string, after: ModelKey | undefined): Promise<ModelKey[]> {
    const t = this.tree;
    const keys: ModelKey[] = [];
    const exact = await t.find(after ?? (firstKeyOf(name) as unknown as ModelKey));
    let on = t.getCurrentKey() !== undefined && (exact && after !== undefined ? await t.next() : true);
    while (on && keys.length < VERSIONS_BATCH) {
      const key = t.getCurrentKey()!;
      if (versionOfKey(key).name !== name) break;
      keys.push(key);
      on = await t.next();
    }
    return keys;
  }
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_MODEL_NAME || !isWellFormedString(name)) {
    throw invalid(`a model name must be a well-formed string of 1..${MAX_MODEL_NAME} characters, got ${typeof name === 'string' ? JSON.stringify(name.slice(0, 40)) : String(name)}`);
  }
  return name;
}
