/**
 * The model registry (issue #17): named models with semver versions by composite key, inside
 * the caller's transactions. One B-tree `<name>` (kind 'models'): key
 * `[model, major, minor, patch, release, prerelease]` (key.ts), value the record, each in its
 * own blob so large inline weights never bloat a node.
 */
import type { Transaction } from '../../txn/transaction.js';
import type { LayerHost } from '../host.js';
import { txStoreState } from '../stream/tx-state.js';
import type { ModelKey } from './key.js';
import { ModelRegistry } from './registry.js';

export { ModelRegistry } from './registry.js';
export { compareSemver, formatSemver, parseSemver, type SemVer } from './semver.js';

const OPTIONS = { slotLength: 500, isUnique: true, valueInNode: false } as const;
/** Layer options: a format number, so a later layout can tell old registries apart. */
const LAYER = { format: 1 };

/** Creates the registry, or opens it when it exists. */
export async function newModelRegistry(host: LayerHost, tx: Transaction, name: string): Promise<ModelRegistry> {
  const main = await host.createMain<ModelKey, unknown>(tx, name, 'models', LAYER, OPTIONS);
  return new ModelRegistry(tx, main.tree, txStoreState(tx, name).lock, name);
}

/** Opens an existing registry: STORE_NOT_FOUND when missing, INVALID_ARGUMENT when of another kind. */
export async function openModelRegistry(host: LayerHost, tx: Transaction, name: string): Promise<ModelRegistry> {
  const main = await host.openMain<ModelKey, unknown>(tx, name, 'models');
  return new ModelRegistry(tx, main.tree, txStoreState(tx, name).lock, name);
}
