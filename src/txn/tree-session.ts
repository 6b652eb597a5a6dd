import { BTree } from '../btree/btree.js';
import type { NodeAccess } from '../btree/node-access.js';
import type { BNode, KeyCompare } from '../btree/node.js';
import { cloneNode, type NodeCache } from '../cache/node-cache.js';
import { SopError, assert, corrupt } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';
import type { Store } from '../store/store.js';
import { ItemTracker } from './item-tracker.js';

export type NodeAction = 'add' | 'update' | 'remove';

interface Staged {
  node: BNode | null;
  action: NodeAction;
}

/**
 * One store as seen by one transaction: the NodeAccess the B-tree runs on. Reads go to the
 * published registry and the node cache and are recorded with the version seen first (the
 * read set validated at commit, spec TX-3); writes are staged here until commit.
 */
export class TreeSession implements NodeAccess {
  readonly rootId: string;
  readonly tracker = new ItemTracker();
  readonly reads = new Map<string, number>();
  readonly staged = new Map<string, Staged>();
  /** New value blobs by blob id, framed as written (BlockKind.Value), written at commit (or earlier, by spill: see `spilled`). */
  readonly pendingValues = new Map<string, Uint8Array>();
  /** Bytes in `pendingValues` not handed to an early write yet. */
  pendingBytes = 0;
  /**
   * Value blobs handed to an early write that has not finished, or failed: still in
   * `pendingValues` (reads find them there), and deleted by a rollback whatever became of them.
   */
  readonly spilling = new Set<string>();
  /**
   * New value blobs already written (synced) before the commit, so a transaction writing large
   * values holds only a bounded part of them in memory (STREAM-5). A step-log 'prepare' record
   * names them first, so recovery deletes them if the transaction dies (TX-10).
   */
  readonly spilled = new Set<string>();
  /** Spilled value blobs the transaction then replaced or removed: deleted with the commit's obsolete blobs, or at rollback. */
  readonly spilledDropped = new Set<string>();
  /** False once the transaction walked the tree (cursor moves, ranges): then only an exact re-validation can commit it. */
  mergeable = true;
  /** Store count when this session started or last merged. */
  baseCount: number;
  tree: BTree;

  constructor(
    readonly store: Store,
    readonly compare: KeyCompare,
    private readonly env: Env,
    private readonly nodes: NodeCache,
  ) {
    this.rootId = store.info.rootId;
    this.baseCount = store.info.count;
    this.tree = this.newTree();
  }

  get count(): number {
    return this.baseCount + this.tracker.countDelta;
  }

  /** A new value blob, held until commit or spill. */
  addPendingValue(id: string, bytes: Uint8Array): void {
    this.pendingValues.set(id, bytes);
    this.pendingBytes += bytes.length;
  }

  /** A new value blob replaced or removed in the same transaction. */
  dropPendingValue(id: string): void {
    const bytes = this.pendingValues.get(id);
    if (bytes) {
      this.pendingValues.delete(id);
      // One being written early: its write sees it gone and counts it as dropped (spillWritten).
      if (!this.spilling.has(id)) this.pendingBytes -= bytes.length;
    } else if (this.spilled.delete(id)) {
      this.spilledDropped.add(id);
    }
  }

  /** The pending value blobs no early write has taken yet, now taken by one. */
  takeForSpill(): Array<{ id: string; bytes: Uint8Array }> {
    const taken: Array<{ id: string; bytes: Uint8Array }> = [];
    for (const [id, bytes] of this.pendingValues) {
      if (this.spilling.has(id)) continue;
      this.spilling.add(id);
      taken.push({ id, bytes });
    }
    this.pendingBytes = 0;
    return taken;
  }

  /** An early write of `ids` is durable: those still current are spilled, those replaced meanwhile dropped. */
  spillWritten(ids: readonly string[]): void {
    for (const id of ids) {
      this.spilling.delete(id);
      if (this.pendingValues.delete(id)) this.spilled.add(id);
      else this.spilledDropped.add(id);
    }
  }

  /** Every value blob the transaction wrote early (kept, dropped, or in a write that did not finish): what a rollback deletes. */
  spilledIds(): string[] {
    return [...this.spilled, ...this.spilledDropped, ...this.spilling];
  }

  hasWrites(): boolean {
    return this.staged.size > 0 || this.tracker.hasWrites();
  }

  async get(id: string): Promise<BNode> {
    const staged = this.staged.get(id);
    if (staged) {
      assert(staged.node !== null, `B-tree read removed node ${id}`);
      return staged.node;
    }
    return this.loadCommitted(id);
  }

  peek(id: string): BNode | undefined {
    const staged = this.staged.get(id);
    if (staged) return staged.node ?? undefined; // a removed node: get() raises the assertion
    const handle = this.store.registry.get(id);
    if (!handle) return undefined; // get() raises the conflict
    const node = this.nodes.peek(handle);
    if (node !== undefined && !this.reads.has(id)) this.reads.set(id, handle.version);
    return node;
  }

  async mutable(id: string): Promise<BNode> {
    const staged = this.staged.get(id);
    if (staged && staged.action !== 'remove') return staged.node!;
    assert(!staged, `B-tree changed removed node ${id}`);
    const copy = cloneNode(await this.loadCommitted(id));
    this.staged.set(id, { node: copy, action: 'update' });
    return copy;
  }

  put(node: BNode): void {
    const staged = this.staged.get(node.id);
    assert(staged?.action !== 'remove', `B-tree put removed node ${node.id}`);
    assert(staged !== undefined || this.reads.has(node.id), `B-tree put unread node ${node.id}`);
    this.staged.set(node.id, { node, action: staged?.action ?? 'update' });
  }

  add(node: BNode): void {
    assert(!this.staged.has(node.id), `B-tree added existing node ${node.id}`);
    this.staged.set(node.id, { node, action: 'add' });
  }

  remove(id: string): void {
    assert(id !== this.rootId, 'B-tree removed the root');
    const staged = this.staged.get(id);
    if (staged?.action === 'add') this.staged.delete(id);
    else this.staged.set(id, { node: null, action: 'remove' });
  }

  newId(): string {
    return this.env.random.uuid();
  }

  /** Nodes whose committed version differs from the one this session read (spec TX-3). */
  isStale(): boolean {
    for (const [id, version] of this.reads) {
      if ((this.store.registry.get(id)?.version ?? 0) !== version) return true;
    }
    return false;
  }

  /** Forgets staged nodes and reads so that a replay can rebuild them on fresh nodes (spec TX-5). */
  resetForReplay(): void {
    this.staged.clear();
    this.reads.clear();
    this.baseCount = this.store.info.count;
    this.tree = this.newTree();
  }

  private newTree(): BTree {
    const { slotLength, isUnique } = this.store.info;
    return new BTree(this, { slotLength, unique: isUnique, compare: this.compare });
  }

  /**
   * Reads the committed node. A node removed, or a blob deleted, by a transaction that
   * committed meanwhile is a conflict the caller retries, not corruption.
   */
  private async loadCommitted(id: string): Promise<BNode> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const handle = this.store.registry.get(id);
      if (!handle) throw new SopError('CONFLICT', `node ${id} of store ${this.store.name} was changed by a concurrent commit; retry`);
      if (!this.reads.has(id)) this.reads.set(id, handle.version);
      const node = await this.nodes.load(this.store, handle);
      if (node) return node;
      if (this.store.registry.get(id) !== handle) continue;
      // Clustered: another process committed and deleted this version; our view lagged (CLU-1).
      if (this.store.registry.shared && attempt < 2) {
        await this.store.registry.reload();
        continue;
      }
      throw corrupt(`store ${this.store.name}: blob of node ${id} is missing`);
    }
    throw new SopError('CONFLICT', `node ${id} of store ${this.store.name} keeps changing; retry`);
  }
}
