import type { Blobs } from '../blobs/blobs.js';
import type { KeyCompare } from '../btree/node.js';
import type { Registry } from '../registry/registry.js';
import type { StoreInfo } from './store-info.js';

/** An opened store: its published info, registry and blobs, shared by every transaction. */
export class Store {
  /** The user comparer passed at open, for stores created with one. */
  userCompare: ((a: unknown, b: unknown) => number) | undefined;
  compare: KeyCompare | undefined;

  constructor(
    public info: StoreInfo,
    readonly dir: string,
    readonly registry: Registry,
    readonly blobs: Blobs,
  ) {}

  get name(): string {
    return this.info.name;
  }
}
