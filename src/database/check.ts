import { BTree } from '../btree/btree.js';
import { corrupt } from '../errors/sop-error.js';
import { activePhysical } from '../registry/handle.js';
import type { Store } from '../store/store.js';
import type { TreeSession } from '../txn/tree-session.js';

export interface StoreCheck {
  readonly name: string;
  readonly count: number;
  readonly depth: number;
  readonly nodes: number;
  readonly handles: number;
  /** Blob files no committed node or value refers to (leftovers of cleanup not yet run). */
  readonly orphanBlobs: number;
  /** The first few orphan ids, for a readable report. */
  readonly orphanSample: readonly string[];
}

/**
 * The structure checker (spec STRUCT-1..STRUCT-3): walks the committed tree, then checks the
 * counts, that every handle is a reachable node, and which blob files nothing refers to.
 */
export async function checkStore(store: Store, session: TreeSession, listBlobs: () => Promise<string[]>): Promise<StoreCheck> {
  const tree = new BTree(session, { slotLength: store.info.slotLength, unique: store.info.isUnique, compare: session.compare });
  const result = await tree.check();
  if (result.count !== store.info.count) throw corrupt(`store ${store.name}: count ${store.info.count} but ${result.count} items`);
  const reachable = new Set(session.reads.keys());
  const handles = [...store.registry.handles()];
  for (const h of handles) if (!reachable.has(h.logicalId)) throw corrupt(`store ${store.name}: handle ${h.logicalId} is not reachable`);
  const referenced = new Set(handles.map(activePhysical));
  let more = (await tree.first()) as boolean;
  while (more) {
    const id = tree.current()!.valueBlobId;
    if (id) referenced.add(id);
    more = await tree.next();
  }
  const files = await listBlobs();
  const present = new Set(files);
  for (const id of referenced) if (!present.has(id)) throw corrupt(`store ${store.name}: blob ${id} is referenced but missing`);
  const orphans = files.filter((id) => !referenced.has(id));
  return { name: store.name, count: result.count, depth: result.depth, nodes: result.nodes, handles: handles.length, orphanBlobs: orphans.length, orphanSample: orphans.slice(0, 5) };
}
