import { BlobStore } from '../blobs/blob-store.js';
import { encodeNode } from '../codec/node-codec.js';
import { SopError, toSopError } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';
import { newHandle } from '../registry/handle.js';
import { Registry } from '../registry/registry.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { replaceDurably } from '../util/durable-file.js';
import { ensureDurableDir, joinPath } from '../util/paths.js';
import { retryCorrupt } from '../util/retry-corrupt.js';
import { type StoreInfo, decodeStoreInfo, encodeStoreInfo } from './store-info.js';
import { Store } from './store.js';

const INFO_FILE = 'storeinfo';

/**
 * Stores live in `<folder>/stores/<name>/`. A store is created in a hidden folder and renamed
 * into place, so it appears whole or not at all (spec STORE-1); it is removed by renaming it
 * away first (spec STORE-2). Hidden leftovers of either are deleted at open.
 */
export class StoreRepository {
  private readonly open = new Map<string, Store>();
  private readonly mutex = new KeyedMutex();
  readonly dir: string;

  constructor(
    private readonly env: Env,
    folder: string,
    private readonly hashMod: number,
  ) {
    this.dir = joinPath(folder, 'stores');
  }

  async init(): Promise<void> {
    await ensureDurableDir(this.env.fs, this.dir);
    for (const entry of await this.env.fs.readdir(this.dir)) {
      if (entry.startsWith('.')) await this.env.fs.removeTree(joinPath(this.dir, entry));
    }
    await this.env.fs.syncDir(this.dir);
  }

  async names(): Promise<string[]> {
    return (await this.env.fs.readdir(this.dir)).filter((n) => !n.startsWith('.')).sort();
  }

  /** The opened store, loading it on first use; null when it does not exist. */
  async get(name: string, liveTids: ReadonlySet<string> = new Set()): Promise<Store | null> {
    const cached = this.open.get(name);
    if (cached) return cached;
    return this.mutex.run(name, async () => {
      const again = this.open.get(name);
      if (again) return again;
      const dir = joinPath(this.dir, name);
      if (!(await this.env.fs.stat(joinPath(dir, INFO_FILE)))) return null;
      const info = await retryCorrupt(async () => decodeStoreInfo(await this.env.fs.readFile(joinPath(dir, INFO_FILE)), `store ${name}`));
      const registry = await Registry.open(this.env, dir, name, this.hashMod, liveTids);
      const store = new Store(info, dir, registry, new BlobStore(this.env, joinPath(dir, 'blobs')));
      this.open.set(name, store);
      return store;
    });
  }

  /** Creates a store durably; STORE_EXISTS when the name is taken. */
  async create(tid: string, info: StoreInfo): Promise<Store> {
    return this.mutex.run(info.name, async () => {
      const final = joinPath(this.dir, info.name);
      if (this.open.has(info.name) || (await this.env.fs.stat(final))) {
        throw new SopError('STORE_EXISTS', `store ${info.name} already exists`);
      }
      const temp = joinPath(this.dir, `.creating-${tid}-${info.name}`);
      try {
        await this.writeNewStore(temp, info);
        await this.env.fs.rename(temp, final);
        await this.env.fs.syncDir(this.dir);
      } catch (error) {
        await this.env.fs.removeTree(temp).catch(() => undefined);
        throw toSopError(error, `create store ${info.name}`);
      }
      await this.env.point?.('store.afterCreate');
      const store = new Store(info, final, await Registry.open(this.env, final, info.name, this.hashMod, new Set()), new BlobStore(this.env, joinPath(final, 'blobs')));
      this.open.set(info.name, store);
      return store;
    });
  }

  private async writeNewStore(dir: string, info: StoreInfo): Promise<void> {
    await this.env.fs.mkdir(dir);
    const blobs = new BlobStore(this.env, joinPath(dir, 'blobs'));
    await blobs.create();
    const rootPhysical = this.env.random.uuid();
    await blobs.putAll([{ id: rootPhysical, bytes: encodeNode({ kind: 'leaf', id: info.rootId, items: [] }) }]);
    const registry = await Registry.create(this.env, dir, info.name, this.hashMod);
    const root = newHandle(info.rootId, rootPhysical, this.env.clock.now());
    await registry.write(info.rootId, [{ id: info.rootId, before: null, after: root }], 'commit');
    await registry.close();
    await replaceDurably(this.env.fs, dir, INFO_FILE, encodeStoreInfo(info));
    await this.env.fs.syncDir(blobs.dir);
    await this.env.fs.syncDir(dir);
  }

  /** Replaces the store info atomically (write, sync, rename, sync folder). */
  async writeInfo(store: Store, info: StoreInfo): Promise<void> {
    await replaceDurably(this.env.fs, store.dir, INFO_FILE, encodeStoreInfo(info));
  }

  /** Removes a store: rename away (durable), then delete the files. */
  async remove(name: string): Promise<boolean> {
    return this.mutex.run(name, async () => {
      const store = this.open.get(name);
      const final = joinPath(this.dir, name);
      if (!(await this.env.fs.stat(final))) return false;
      this.open.delete(name);
      await store?.registry.close();
      const trash = joinPath(this.dir, `.removing-${this.env.random.uuid()}`);
      await this.env.fs.rename(final, trash);
      await this.env.fs.syncDir(this.dir);
      await this.env.fs.removeTree(trash);
      return true;
    });
  }

  opened(): Store[] {
    return [...this.open.values()];
  }

  async close(): Promise<void> {
    const stores = [...this.open.values()];
    this.open.clear();
    await Promise.all(stores.map((s) => s.registry.close()));
  }
}
