import { SopError, invalid, toSopError } from '../../errors/sop-error.js';
import type { FileSystem } from '../../ports/file-system.js';
import type { Transaction } from '../../txn/transaction.js';
import type { LayerHost, StoreEntry } from '../host.js';
import { EXPORT_FORMAT, type EndLine, type HeaderLine, type StoreLine } from './format.js';
import { toJson } from './json-value.js';
import { LineWriter } from './line-writer.js';
import { absolutePath, parentOf } from './paths.js';
import { storeOptionsOf } from './store-options.js';

export interface ExportReport {
  /** The file written (absolute). */
  file: string;
  /** Stores written, layer parts included. */
  stores: number;
  /** Items written over all stores. */
  items: number;
  /** Bytes of the file. */
  bytes: number;
}

/** A concurrent commit makes the snapshot's read transaction fail: the export starts over, this many times. */
const ATTEMPTS = 10;

/**
 * `db.export(file)`: every store of every kind, parts included, read in ONE read transaction
 * whose commit validates everything read, so the file is a consistent snapshot (spec EXP-1); on
 * CONFLICT it starts over. Items stream from the B-trees to the file (bounded memory), into a
 * temporary file renamed over `file` once complete and synced, so `file` is never half written.
 */
export async function exportDatabase(host: LayerHost, file: string): Promise<ExportReport> {
  if (typeof file !== 'string' || file.length === 0) throw invalid('export needs a file name');
  const path = absolutePath(file);
  for (let attempt = 1; ; attempt++) {
    try {
      return await exportOnce(host, path);
    } catch (error) {
      const retry = SopError.is(error, 'CONFLICT') || SopError.is(error, 'STORE_NOT_FOUND'); // a store removed meanwhile
      if (!retry || attempt >= ATTEMPTS) throw error;
      await host.env.clock.sleep(1 + Math.floor(host.env.random.nextFloat() * Math.min(1_000, 2 ** attempt)));
    }
  }
}

async function exportOnce(host: LayerHost, path: string): Promise<ExportReport> {
  const fs = host.env.fs;
  const stores = await host.allStores();
  const options = new Map<string, StoreLine['options']>();
  for (const s of stores) options.set(s.name, await storeOptionsOf(host, s.name));
  const temp = `${path}.tmp-${host.env.random.uuid()}`;
  const handle = await fs.open(temp, 'createNew');
  let closed = false;
  try {
    const out = new LineWriter(handle);
    await out.line(JSON.stringify({ sop: 'export', format: EXPORT_FORMAT, stores: stores.length } satisfies HeaderLine));
    const tx = await host.beginTransaction('read');
    let items = 0;
    try {
      for (const s of stores) items += await exportStore(host, tx, s, options.get(s.name)!, out);
      await tx.commit(); // validates every node read: the snapshot is consistent, or CONFLICT
    } finally {
      if (tx.state === 'active') await tx.rollback().catch(() => undefined); // a read transaction: nothing to undo
    }
    await out.flush();
    await out.line(JSON.stringify({ end: true, stores: stores.length, items, crc32: out.crc } satisfies EndLine));
    await out.flush();
    await handle.datasync();
    closed = true;
    await handle.close();
    await fs.rename(temp, path);
    await fs.syncDir(parentOf(path));
    return { file: path, stores: stores.length, items, bytes: out.bytes };
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined); // the export's own error is the one to report
    await unlinkQuietly(fs, temp);
    throw toSopError(error, `export to ${path}`);
  }
}

/** One store: its line, then its items in key order; a count that moved under the walk is a conflict. */
async function exportStore(host: LayerHost, tx: Transaction, s: StoreEntry & { part?: string; layer?: Record<string, unknown> }, options: StoreLine['options'], out: LineWriter): Promise<number> {
  const tree = await host.openAny<unknown, unknown>(tx, s.name);
  const line: StoreLine = { store: s.name, kind: s.kind, ...(s.part === undefined ? {} : { part: s.part }), ...(s.layer && s.part === undefined ? { layer: s.layer } : {}), options, count: tree.count };
  await out.line(JSON.stringify(line));
  let n = 0;
  for await (const [key, value] of tree.range()) {
    await out.line(JSON.stringify([toJson(key), toJson(value)]));
    n++;
  }
  if (n !== line.count) throw new SopError('CONFLICT', `store ${s.name} changed during the export (${n} items, count ${line.count}); retry`);
  return n;
}

async function unlinkQuietly(fs: FileSystem, path: string): Promise<void> {
  await fs.unlink(path).catch(() => undefined); // a temporary file left behind is only space: the export failed anyway
}
