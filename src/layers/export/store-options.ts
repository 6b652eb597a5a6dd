import { invalid } from '../../errors/sop-error.js';
import { decodeStoreInfo } from '../../store/store-info.js';
import { joinPath } from '../../util/paths.js';
import { retryCorrupt } from '../../util/retry-corrupt.js';
import type { LayerHost } from '../host.js';
import type { StoreOptionsJson } from './format.js';

/**
 * The options a store was created with. The LayerHost lists stores with their kind and layer
 * options but not their B-tree options, so they are read from the store's info file (fixed for
 * the life of the store, so reading it outside the export's transaction is consistent). A store
 * created with a user comparer cannot be exported: the comparer is code, not data.
 */
export async function storeOptionsOf(host: LayerHost, name: string): Promise<StoreOptionsJson> {
  const path = joinPath(host.folder, 'stores', name, 'storeinfo');
  const info = await retryCorrupt(async () => decodeStoreInfo(await host.env.fs.readFile(path), `store ${name}`));
  if (info.customComparer) throw invalid(`store ${name} was created with a user comparer: export cannot recreate its order`);
  const options: StoreOptionsJson = { slotLength: info.slotLength, isUnique: info.isUnique, valueInNode: info.valueInNode, description: info.description };
  if (info.keyOrder.kind === 'fields') options.keyOrder = info.keyOrder.fields.map((f) => ({ field: f.field, order: f.order }));
  return options;
}
