import type { Item } from '../btree/node.js';
import { assert } from '../errors/sop-error.js';

/**
 * What a transaction did to each item, by item id (SOP E38). It drives item locks, the
 * commit's value blobs, the count delta and the replay that merges a transaction onto nodes
 * that changed under it (spec TX-5).
 */
export type ItemAction = 'get' | 'add' | 'update' | 'remove';

export interface TrackedItem {
  action: ItemAction;
  readonly id: string;
  readonly key: unknown;
  /** The item as committed when first seen (null for adds). */
  readonly original: Item | null;
  /** The item as this transaction leaves it (null for removes). */
  current: Item | null;
}

export class ItemTracker {
  readonly entries = new Map<string, TrackedItem>();
  /** Keys this transaction looked up and did not find: replay re-checks they are still absent. */
  readonly absentKeys: unknown[] = [];

  observe(item: Item): void {
    if (!this.entries.has(item.id)) {
      this.entries.set(item.id, { action: 'get', id: item.id, key: item.key, original: item, current: item });
    }
  }

  observeAbsent(key: unknown): void {
    this.absentKeys.push(key);
  }

  added(item: Item): void {
    assert(!this.entries.has(item.id), 'added item id already tracked');
    this.entries.set(item.id, { action: 'add', id: item.id, key: item.key, original: null, current: item });
  }

  updated(before: Item, after: Item): void {
    const entry = this.entries.get(before.id);
    if (!entry) {
      this.entries.set(before.id, { action: 'update', id: before.id, key: before.key, original: before, current: after });
      return;
    }
    assert(entry.action !== 'remove', 'update of a removed item');
    if (entry.action === 'get') entry.action = 'update';
    entry.current = after;
  }

  removed(item: Item): void {
    const entry = this.entries.get(item.id);
    if (entry?.action === 'add') {
      this.entries.delete(item.id);
      return;
    }
    if (!entry) {
      this.entries.set(item.id, { action: 'remove', id: item.id, key: item.key, original: item, current: null });
      return;
    }
    entry.action = 'remove';
    entry.current = null;
  }

  /** The version an update gives an item: one more than committed, once per transaction (SOP E38). */
  nextVersion(item: Item): number {
    const entry = this.entries.get(item.id);
    if (entry?.action === 'add') return item.version;
    return (entry?.original?.version ?? item.version) + 1;
  }

  get countDelta(): number {
    let delta = 0;
    for (const e of this.entries.values()) delta += e.action === 'add' ? 1 : e.action === 'remove' ? -1 : 0;
    return delta;
  }

  hasWrites(): boolean {
    for (const e of this.entries.values()) if (e.action !== 'get') return true;
    return false;
  }
}
