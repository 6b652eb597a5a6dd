import { decodeNode, noteItemsCopy, settleItemsCopy } from '../codec/node-codec.js';
import type { BNode } from '../btree/node.js';
import { trackCopy } from '../btree/leaf-edits.js';
import type { Coordinator } from '../ports/coordinator.js';
import { type Handle, activePhysical } from '../registry/handle.js';
import type { Store } from '../store/store.js';
import { retryCorrupt } from '../util/retry-corrupt.js';
import { Lru } from './lru.js';

/**
 * L1: a bounded MRU of decoded nodes keyed by physical id. A physical id names immutable
 * bytes (spec COW-1), so an entry can never be stale: no invalidation protocol is needed.
 * L2: the Coordinator's cache, used when it is shared between processes (Redis).
 */
export class NodeCache {
  private readonly l1: Lru<string, BNode>;

  constructor(
    capacity: number,
    private readonly coordinator: Coordinator,
    private readonly namespace: string,
    private readonly l2TtlMs: number,
  ) {
    this.l1 = new Lru(capacity);
  }

  /** The node under the handle's active id; null when its blob is gone (a concurrent cleanup). */
  async load(store: Store, handle: Handle): Promise<BNode | null> {
    const physical = activePhysical(handle);
    const cached = this.l1.get(physical);
    if (cached) return cached;
    let fromL2 = await this.l2Get(physical);
    const node = await retryCorrupt(async () => {
      const l2 = fromL2;
      fromL2 = null; // a copy in L2 that fails its checksum is not tried twice: the disk decides
      const bytes = l2 ?? (await store.blobs.get(physical));
      const decoded = bytes ? freezeNode(decodeNode(bytes, handle.logicalId)) : null;
      if (decoded && !l2) void this.l2Put(physical, bytes!); // checked bytes only: decode passed
      return decoded;
    });
    if (!node) return null;
    this.l1.set(physical, node);
    return node;
  }

  /** The node under the handle's active id if L1 holds it (what `load` would return without I/O). */
  peek(handle: Handle): BNode | undefined {
    return this.cached(activePhysical(handle));
  }

  /** The node of this physical id if L1 holds it (no I/O). */
  cached(physical: string): BNode | undefined {
    return this.l1.get(physical);
  }

  /** Seeds L1 with a node just committed (it is frozen: transactions copy before changing). */
  remember(physical: string, node: BNode): void {
    this.l1.set(physical, freezeNode(node));
    if (node.kind === 'leaf') settleItemsCopy(node.items);
  }

  forget(physical: string): void {
    this.l1.delete(physical);
  }

  private async l2Get(physical: string): Promise<Uint8Array | null> {
    if (this.coordinator.kind === 'memory') return null;
    try {
      return await this.coordinator.cacheGet(`${this.namespace}:b:${physical}`);
    } catch {
      return null; // the cache is an optimisation: its failure must not fail a read
    }
  }

  async l2Put(physical: string, bytes: Uint8Array): Promise<void> {
    if (this.coordinator.kind === 'memory') return;
    await this.coordinator.cacheSet(`${this.namespace}:b:${physical}`, bytes, this.l2TtlMs).catch(() => undefined); // the cache is an optimisation
  }
}

function freezeNode(node: BNode): BNode {
  if (Object.isFrozen(node)) return node;
  Object.freeze(node.kind === 'leaf' ? node.items : node.keys);
  if (node.kind === 'internal') Object.freeze(node.children);
  return Object.freeze(node);
}

export function cloneNode(node: BNode): BNode {
  if (node.kind === 'leaf') {
    const items = [...node.items];
    noteItemsCopy(items, node.items); // its encoding at commit copies what is unchanged
    trackCopy(items, node.items);
    return { kind: 'leaf', id: node.id, items };
  }
  return { kind: 'internal', id: node.id, keys: [...node.keys], children: [...node.children] };
}
