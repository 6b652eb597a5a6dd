/**
 * B+tree with a cursor over a NodeAccess (spec BTREE-*). Items live in leaves ordered by
 * (key, item id); internal nodes hold separators that lower-bound their right child. The root id
 * never changes. Every mutation re-establishes the cursor by seeking its entry again.
 */
import { assert, invalid } from '../errors/sop-error.js';
import { checkTree } from './check.js';
import type { CheckResult } from './check.js';
import { descend, descendSync, edgePath, leafFrame, settle, step } from './cursor.js';
import type { Path } from './cursor.js';
import { insertEntry } from './insert.js';
import { replaceItem } from './leaf-edits.js';
import type { NodeAccess } from './node-access.js';
import type { Item, KeyCompare, LeafNode } from './node.js';
import { removeAt } from './remove.js';
import { entryProbe, keyHighProbe, keyLowProbe } from './search.js';
import type { Probe, TreeContext } from './search.js';

export type { CheckResult } from './check.js';

export interface BTreeOptions {
  /** Maximum items per leaf and separators per internal node; an integer >= 2. */
  slotLength: number;
  unique: boolean;
  compare: KeyCompare;
}

export type SeekMode = 'ge' | 'gt' | 'le' | 'lt';

export class BTree {
  private readonly ctx: TreeContext;
  /** Root-to-leaf frames; empty when the cursor is not positioned. */
  private path: Path = [];

  constructor(access: NodeAccess, options: BTreeOptions) {
    const { slotLength, unique, compare } = options;
    if (!Number.isInteger(slotLength) || slotLength < 2) throw invalid(`slotLength must be an integer >= 2`);
    this.ctx = { access, slotLength, unique, compare };
  }

  /** Item under the cursor, or undefined when the cursor is not positioned. */
  current(): Item | undefined {
    if (this.path.length === 0) return undefined;
    const { leaf, frame } = leafFrame(this.path);
    return leaf.items[frame.index];
  }

  /**
   * Positions on the first entry with this key (the lowest item id among duplicates). On a miss the
   * cursor is on the first greater entry (or unpositioned) and the result is false.
   */
  async find(key: unknown, firstItemWithKey = false): Promise<boolean> {
    void firstItemWithKey; // the first duplicate is always returned
    if (!(await this.position(keyLowProbe(this.ctx.compare, key), true, false))) return false;
    return this.ctx.compare(this.current()!.key, key) === 0;
  }

  /**
   * `find` when it needs no node read (every node on the way is at hand: NodeAccess.peek) and
   * the entry is in the leaf reached; undefined otherwise, and then `find` must be called.
   */
  findSync(key: unknown): boolean | undefined {
    const positioned = this.positionSync(keyLowProbe(this.ctx.compare, key), true, false);
    if (positioned === undefined) return undefined;
    return this.ctx.compare(this.current()!.key, key) === 0;
  }

  /** Positions on the exact entry (key, id); false and unpositioned when absent. */
  async findItem(key: unknown, id: string): Promise<boolean> {
    const found = await this.position(entryProbe(this.ctx.compare, key, id), true, false);
    const item = this.current();
    if (found && item!.id === id && this.ctx.compare(item!.key, key) === 0) return true;
    this.path = [];
    return false;
  }

  /** 'ge'/'gt': first entry with key >= / > key; 'le'/'lt': last entry with key <= / < key. */
  async seek(key: unknown, mode: SeekMode): Promise<boolean> {
    const { compare } = this.ctx;
    switch (mode) {
      case 'ge':
        return this.position(keyLowProbe(compare, key), true, false);
      case 'gt':
        return this.position(keyHighProbe(compare, key), true, false);
      case 'le':
        return this.position(keyHighProbe(compare, key), false, true);
      case 'lt':
        return this.position(keyLowProbe(compare, key), false, true);
      default:
        throw invalid(`unknown seek mode ${String(mode)}`);
    }
  }

  first(): Promise<boolean> {
    return this.edge(false);
  }

  last(): Promise<boolean> {
    return this.edge(true);
  }

  next(): Promise<boolean> {
    return this.move(true);
  }

  previous(): Promise<boolean> {
    return this.move(false);
  }

  /**
   * Unique tree with the key present: false, cursor on the existing item. Otherwise inserts and
   * positions the cursor on the new item. Throws INVALID_ARGUMENT if (key, id) is already stored.
   * `knownAbsent`: the caller found the key absent with nothing changed since (skips the check).
   */
  async add(item: Item, knownAbsent = false): Promise<boolean> {
    // knownAbsent: the caller just looked the key up and missed, so the unique check is skipped.
    if (this.ctx.unique && !knownAbsent && (await this.find(item.key))) return false;
    this.path = [];
    await insertEntry(this.ctx, item);
    await this.reposition(item);
    return true;
  }

  /**
   * Moves one item within the current leaf, synchronously; false (cursor unchanged) when the
   * cursor is not positioned or the move would leave the leaf: then use next()/previous().
   */
  stepInLeaf(forward: boolean): boolean {
    const path = this.path;
    if (path.length === 0) return false;
    const frame = path[path.length - 1]!;
    const index = frame.index + (forward ? 1 : -1);
    if (index < 0 || index >= (frame.node as LeafNode).items.length) return false;
    frame.index = index;
    return true;
  }

  /** Replaces the item under the cursor with one of the same id and an equal key. */
  async replaceCurrent(item: Item): Promise<void> {
    const old = this.requireCurrent();
    if (item.id !== old.id) throw invalid(`replaceCurrent: id ${item.id} differs from ${old.id}`);
    if (this.ctx.compare(old.key, item.key) !== 0) throw invalid(`replaceCurrent: the key may not change`);
    const { leaf, frame } = leafFrame(this.path);
    this.path = [];
    const mutable = await this.ctx.access.mutable(leaf.id);
    assert(mutable.kind === 'leaf' && mutable.items[frame.index]?.id === old.id, 'cursor path is stale');
    replaceItem(mutable.items, frame.index, item);
    await this.reposition(item);
  }

  /** Removes the item under the cursor; the cursor moves to the next entry (or unpositioned). */
  async removeCurrent(): Promise<void> {
    const old = this.requireCurrent();
    const steps = this.path.map((f) => ({ id: f.node.id, index: f.index }));
    this.path = [];
    await removeAt(this.ctx, steps, old.id);
    await this.position(entryProbe(this.ctx.compare, old.key, old.id), true, false);
  }

  /** Full structural walk; throws SopError('CORRUPT') naming the node on a broken invariant. */
  check(): Promise<CheckResult> {
    return checkTree(this.ctx);
  }

  private requireCurrent(): Item {
    const item = this.current();
    if (item === undefined) throw invalid('the cursor is not positioned on an item');
    return item;
  }

  /** Descends along probe; forward: first entry at/after target, else last entry before it. */
  private async position(probe: Probe, forward: boolean, strict: boolean): Promise<boolean> {
    const positioned = this.positionSync(probe, forward, strict);
    if (positioned !== undefined) return positioned;
    this.path = [];
    const path = await descend(this.ctx, probe, strict);
    if (!forward) leafFrame(path).frame.index -= 1;
    if (!(await settle(this.ctx, path, forward))) return false;
    this.path = path;
    return true;
  }

  /**
   * `position` without waiting: true when every node on the way is at hand and the target is
   * inside the leaf reached; undefined (cursor unpositioned) when it needs a node read or a
   * sibling leaf, and then the async path must run.
   */
  private positionSync(probe: Probe, forward: boolean, strict: boolean): boolean | undefined {
    this.path = [];
    const path = descendSync(this.ctx, probe, strict);
    if (path === undefined) return undefined;
    const frame = path[path.length - 1]!;
    if (!forward) frame.index -= 1;
    if (frame.index < 0 || frame.index >= (frame.node as LeafNode).items.length) return undefined;
    this.path = path;
    return true;
  }

  private async reposition(item: Item): Promise<void> {
    assert(await this.findItem(item.key, item.id), `item ${item.id} not found after write`);
  }

  private async edge(toLast: boolean): Promise<boolean> {
    this.path = [];
    this.path = await edgePath(this.ctx, toLast);
    return this.path.length > 0;
  }

  private async move(forward: boolean): Promise<boolean> {
    const path = this.path;
    if (path.length === 0) return false;
    this.path = [];
    if (!(await step(this.ctx, path, forward))) return false;
    this.path = path;
    return true;
  }
}
