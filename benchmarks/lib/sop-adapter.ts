/**
 * sop-ts as a bench peer: standalone Database, one store `kv` (string keys, Uint8Array values in
 * the node, defaults otherwise), every write transaction committed durably through the public
 * API. The FileSystem port is wrapped to count syncs (handle.datasync/sync and fs.syncDir) and
 * other I/O calls, reported per phase and per commit.
 */
import { Database, realEnv, type Btree, type FileHandle, type FileSystem, type Transaction } from '../../src/index.js';
import type { Adapter, Store, Txn } from './workload.js';

export interface FsCounters {
  fsyncs: number;
  datasyncs: number;
  fullsyncs: number;
  dirsyncs: number;
  writes: number;
  reads: number;
  opens: number;
  unlinks: number;
  renames: number;
}

export function newCounters(): FsCounters {
  return { fsyncs: 0, datasyncs: 0, fullsyncs: 0, dirsyncs: 0, writes: 0, reads: 0, opens: 0, unlinks: 0, renames: 0 };
}

/** Wraps a FileSystem so every sync (and the main I/O calls) is counted. */
export function countingFs(inner: FileSystem, c: FsCounters): FileSystem {
  const wrap = (h: FileHandle): FileHandle => ({
    read: (position, length) => (c.reads++, h.read(position, length)),
    write: (position, data) => (c.writes++, h.write(position, data)),
    datasync: () => (c.fsyncs++, c.datasyncs++, h.datasync()),
    sync: () => (c.fsyncs++, c.fullsyncs++, h.sync()),
    truncate: (size) => h.truncate(size),
    size: () => h.size(),
    close: () => h.close(),
    ...(h.writeAndSyncBlocking ? { writeAndSyncBlocking: (position: number, data: Uint8Array) => (c.writes++, c.fsyncs++, c.datasyncs++, h.writeAndSyncBlocking!(position, data)) } : {}),
  });
  return {
    lock: (path, mode, owner) => inner.lock(path, mode, owner),
    open: async (path, mode) => (c.opens++, wrap(await inner.open(path, mode))),
    readFile: (path) => (c.reads++, inner.readFile(path)),
    writeFile: (path, data) => (c.writes++, inner.writeFile(path, data)),
    rename: (from, to) => (c.renames++, inner.rename(from, to)),
    link: (existing, to) => inner.link(existing, to),
    unlink: (path) => (c.unlinks++, inner.unlink(path)),
    mkdir: (path) => inner.mkdir(path),
    removeTree: (path) => inner.removeTree(path),
    readdir: (path) => inner.readdir(path),
    stat: (path) => inner.stat(path),
    syncDir: (path) => (c.fsyncs++, c.dirsyncs++, inner.syncDir(path)),
  };
}

/** Gets run in read transactions of this many gets (the same batch size as the writes). */
const READS_PER_TXN = 1000;
const STORE = 'kv';

/**
 * `journal`: journal mode (one synced record per commit, checkpoints; spec JNL-1..JNL-4), bench
 * name `sop-ts-journal`; 'blocking' appends with blocking system calls (`sop-ts-journal-blocking`).
 */
export function sopAdapter(options: { nodeCacheSize?: number; slotLength?: number; journal?: 'async' | 'blocking' } = {}): Adapter {
  const counters = newCounters();
  return {
    name: options.journal === 'blocking' ? 'sop-ts-journal-blocking' : options.journal ? 'sop-ts-journal' : 'sop-ts',
    info: () => ({
      package: 'sop-ts (this repo, src/ via tsx)',
      settings: `standalone${options.journal ? `, journal mode (default checkpoints: 1024 records, 64 MiB of records or 256 MiB held, and at close${options.journal === 'blocking' ? '; blockingSync' : ''})` : ', in-place commits (journal: false)'}, store '${STORE}' slotLength=${options.slotLength ?? 'default(500)'} isUnique valueInNode, nodeCacheSize=${options.nodeCacheSize ?? 'default(20000)'}, ` +
        `writes: upsert/remove in a write tx + durable commit; gets: find+getCurrentValue in read txs of ${READS_PER_TXN}; scan: one read tx, range()`,
    }),
    async open(dir): Promise<Store> {
      const env = realEnv();
      const db = await Database.open({ folder: dir, env: { ...env, fs: countingFs(env.fs, counters) }, nodeCacheSize: options.nodeCacheSize, journal: options.journal === 'blocking' ? { blockingSync: true } : options.journal === 'async' });
      const setup = await db.beginTransaction('write');
      await db.newBtree<string, Uint8Array>(setup, STORE, { slotLength: options.slotLength, isUnique: true, valueInNode: true });
      await setup.commit();

      let readTx: Transaction | null = null;
      let readTree: Btree<string, Uint8Array> | null = null;
      let readsInTx = 0;
      const endReads = async () => {
        if (readTx) {
          const tx = readTx;
          readTx = null;
          readTree = null;
          await tx.commit();
        }
      };
      const reader = async (): Promise<Btree<string, Uint8Array>> => {
        if (readTx && readsInTx >= READS_PER_TXN) await endReads();
        if (!readTree) {
          readTx = await db.beginTransaction('read');
          readTree = await db.openBtree<string, Uint8Array>(readTx, STORE);
          readsInTx = 0;
        }
        readsInTx++;
        return readTree;
      };

      return {
        async begin(): Promise<Txn> {
          await endReads();
          const tx = await db.beginTransaction('write');
          const tree = await db.openBtree<string, Uint8Array>(tx, STORE);
          return {
            put: async (key, value) => {
              await tree.upsert(key, value);
            },
            del: async (key) => {
              await tree.remove(key);
            },
            commit: () => tx.commit(),
          };
        },
        async get(key) {
          const tree = await reader();
          if (!(await tree.find(key))) return undefined;
          return tree.getCurrentValue();
        },
        async scan(range, visit) {
          await endReads();
          const tx = await db.beginTransaction('read');
          const tree = await db.openBtree<string, Uint8Array>(tx, STORE);
          let n = 0;
          for await (const [k, v] of tree.range(range)) {
            visit(k, v);
            n++;
          }
          await tx.commit();
          return n;
        },
        endReads,
        counters: () => ({ ...counters }),
        async close() {
          await endReads();
          await db.close();
        },
      };
    },
  };
}
