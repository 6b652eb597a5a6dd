/**
 * In-memory NodeAccess for B-tree tests. Committed nodes are deep-frozen and shared; each access
 * stages its own writes until commit(). In strict mode `get` of a staged node returns a frozen
 * snapshot, so code that mutates a node obtained from `get` (instead of `mutable`) throws, and code
 * that expects a `get` result to see later writes breaks visibly.
 */
import type { NodeAccess } from '../../src/btree/node-access.js';
import type { BNode } from '../../src/btree/node.js';
import { corrupt } from '../../src/errors/sop-error.js';

export function deepFreeze<T>(value: T): T {
  if (ArrayBuffer.isView(value)) return value; // typed arrays cannot be frozen; value bytes are never mutated
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

function copyNode(node: BNode): BNode {
  if (node.kind === 'leaf') return { kind: 'leaf', id: node.id, items: [...node.items] };
  return { kind: 'internal', id: node.id, keys: [...node.keys], children: [...node.children] };
}

export class MemoryNodeStore {
  readonly committed = new Map<string, BNode>();
  private counter = 0;

  constructor(readonly rootId = 'root') {
    this.committed.set(rootId, deepFreeze({ kind: 'leaf', id: rootId, items: [] }));
  }

  nextId(): string {
    this.counter++;
    return `n${this.counter}`;
  }

  begin(options: { strict?: boolean } = {}): MemoryAccess {
    return new MemoryAccess(this, options.strict ?? false);
  }
}

export class MemoryAccess implements NodeAccess {
  /** id -> staged body, or null for a staged removal. */
  private readonly staged = new Map<string, BNode | null>();
  readonly stats = { gets: 0, mutables: 0, puts: 0, adds: 0, removes: 0 };

  constructor(
    private readonly store: MemoryNodeStore,
    private readonly strict: boolean,
  ) {}

  get rootId(): string {
    return this.store.rootId;
  }

  async get(id: string): Promise<BNode> {
    this.stats.gets++;
    const staged = this.staged.get(id);
    if (staged === null) throw corrupt(`node ${id} was removed`);
    if (staged !== undefined) return this.strict ? deepFreeze(copyNode(staged)) : staged;
    const node = this.store.committed.get(id);
    if (node === undefined) throw corrupt(`node ${id} does not exist`);
    return node;
  }

  async mutable(id: string): Promise<BNode> {
    this.stats.mutables++;
    const staged = this.staged.get(id);
    if (staged === null) throw corrupt(`node ${id} was removed`);
    if (staged !== undefined) return staged;
    const node = this.store.committed.get(id);
    if (node === undefined) throw corrupt(`node ${id} does not exist`);
    const copy = copyNode(node);
    this.staged.set(id, copy);
    return copy;
  }

  put(node: BNode): void {
    this.stats.puts++;
    if (!this.exists(node.id)) throw new Error(`put of missing node ${node.id}`);
    this.staged.set(node.id, node);
  }

  add(node: BNode): void {
    this.stats.adds++;
    if (this.exists(node.id) || this.store.committed.has(node.id)) throw new Error(`add of existing ${node.id}`);
    this.staged.set(node.id, node);
  }

  remove(id: string): void {
    this.stats.removes++;
    if (id === this.rootId) throw new Error('remove of the root');
    if (!this.exists(id)) throw new Error(`remove of missing node ${id}`);
    if (this.store.committed.has(id)) this.staged.set(id, null);
    else this.staged.delete(id);
  }

  newId(): string {
    return this.store.nextId();
  }

  /** Ids of every node that exists as this access sees it. */
  liveIds(): Set<string> {
    const ids = new Set(this.store.committed.keys());
    for (const [id, node] of this.staged) {
      if (node === null) ids.delete(id);
      else ids.add(id);
    }
    return ids;
  }

  /** Publishes staged writes to the store (frozen) and clears the staging area. */
  commit(): void {
    for (const [id, node] of this.staged) {
      if (node === null) this.store.committed.delete(id);
      else this.store.committed.set(id, deepFreeze(node));
    }
    this.staged.clear();
  }

  rollback(): void {
    this.staged.clear();
  }

  private exists(id: string): boolean {
    const staged = this.staged.get(id);
    if (staged !== undefined) return staged !== null;
    return this.store.committed.has(id);
  }
}
