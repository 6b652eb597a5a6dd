import type { Btree } from '../../database/btree.js';
import type { Database } from '../../database/database.js';
import type { BtreeOptions } from '../../database/options.js';
import { SopError, corrupt, invalid } from '../../errors/sop-error.js';
import type { Transaction } from '../../txn/transaction.js';
import type { LayerHost } from '../host.js';
import { type EndLine, type StoreLine, checkEndLine, checkHeader, checkStoreLine } from './format.js';
import { fromJson } from './json-value.js';
import { type Line, readLines } from './line-reader.js';
import { absolutePath } from './paths.js';

export interface ImportReport {
  file: string;
  stores: number;
  items: number;
}

/** Items per import transaction, and bytes of their lines: bounds the memory a transaction holds until commit. */
const BATCH_ITEMS = 5_000;
const BATCH_CHARS = 16 << 20;

/**
 * The seam layers use is private to Database; import recreates layer stores (kind, layer
 * options, parts) through it exactly as the layers created them.
 */
export function hostOf(db: Database): LayerHost {
  return (db as unknown as { layers: LayerHost }).layers;
}

/**
 * Loads an export file into `db`, which must hold no store (nothing is merged). Every line is
 * checked: a malformed one stops the import with CORRUPT naming the file and line (spec EXP-3).
 * Items go in in batches of transactions, so memory stays bounded; a stopped import leaves a
 * partly filled database, which is why callers import into a temporary folder (rebuild.ts).
 */
export async function importDatabase(db: Database, file: string): Promise<ImportReport> {
  if (typeof file !== 'string' || file.length === 0) throw invalid('import needs a file name');
  const path = absolutePath(file);
  const host = hostOf(db);
  if ((await db.listStores({ parts: true })).length > 0) throw invalid(`import needs an empty database; ${db.folder} has stores`);
  const handle = await host.env.fs.open(path, 'read').catch((error: unknown) => {
    throw (error as { code?: string }).code === 'ENOENT' ? invalid(`export file ${path} does not exist`) : error;
  });
  try {
    return await new Importer(db, host, path).run(readLines(handle, path));
  } finally {
    await handle.close().catch(() => undefined); // a read-only handle: the import's outcome is decided
  }
}

/** The import as a small state machine over the lines: header, then stores with their items, then the end line. */
class Importer {
  private stores = 0;
  private items = 0;
  private current: { line: StoreLine; seen: number } | null = null;
  private batch: Array<[unknown, unknown, number]> = [];
  private batchChars = 0;
  private ended = false;

  constructor(
    private readonly db: Database,
    private readonly host: LayerHost,
    private readonly path: string,
  ) {}

  async run(lines: AsyncGenerator<Line>): Promise<ImportReport> {
    let expectedStores = -1;
    for await (const line of lines) {
      try {
        if (this.ended) throw new Error('a line after the end line');
        if (line.no === 1) expectedStores = this.header(line.text);
        else await this.line(line, expectedStores);
      } catch (error) {
        throw this.located(error, line.no);
      }
    }
    if (!this.ended) throw corrupt(`${this.path}: the file ends without its end line (truncated?)`);
    return { file: this.path, stores: this.stores, items: this.items };
  }

  private header(text: string): number {
    const h = checkHeader(parse(text));
    if (typeof h === 'string') throw new Error(h);
    return h.stores;
  }

  private async line(line: Line, expectedStores: number): Promise<void> {
    const j = parse(line.text);
    if (Array.isArray(j)) return this.item(j, line);
    if (typeof j !== 'object' || j === null) throw new Error('expected a store line, an item or the end line');
    const o = j as Record<string, unknown>;
    if (o.end !== undefined) return this.end(o, line, expectedStores);
    const store = checkStoreLine(o);
    if (typeof store === 'string') throw new Error(store);
    await this.closeStore();
    await this.createStore(store);
    this.current = { line: store, seen: 0 };
    this.stores++;
  }

  private async item(j: unknown[], line: Line): Promise<void> {
    if (j.length !== 2) throw new Error('an item line is [key, value]');
    if (!this.current) throw new Error('an item before any store line');
    if (++this.current.seen > this.current.line.count) throw new Error(`store ${this.current.line.store} has more items than its count ${this.current.line.count}`);
    this.batch.push([fromJson(j[0]), fromJson(j[1]), line.no]);
    this.batchChars += line.text.length;
    if (this.batch.length >= BATCH_ITEMS || this.batchChars >= BATCH_CHARS) await this.flush();
  }

  private async end(o: Record<string, unknown>, line: Line, expectedStores: number): Promise<void> {
    const end = checkEndLine(o);
    if (typeof end === 'string') throw new Error(end);
    await this.closeStore();
    checkTotals(end, line, this.stores, this.items, expectedStores);
    this.ended = true;
  }

  private async closeStore(): Promise<void> {
    await this.flush();
    const c = this.current;
    if (c && c.seen !== c.line.count) throw new Error(`store ${c.line.store} has ${c.seen} items, its line says ${c.line.count}`);
    this.current = null;
  }

  /** Creates the store as it was: a plain B-tree, a layer's main store (kind, layer options) or a part. */
  private async createStore(s: StoreLine): Promise<void> {
    const options: BtreeOptions = { ...s.options, ...(s.options.keyOrder ? { keyOrder: s.options.keyOrder } : {}) };
    await this.db.transaction('write', async (tx) => {
      if (s.part !== undefined) await this.host.part(tx, s.store.slice(0, -(s.part.length + 1)), s.part, options);
      else if (s.kind === 'btree' && s.layer === undefined) await this.db.newBtree(tx, s.store, options);
      else await this.host.createMain(tx, s.store, s.kind, s.layer ?? {}, options);
    }, { retries: 0 });
  }

  /** Adds the batch in one transaction; a key that is already there (in a unique store) is a malformed file. */
  private async flush(): Promise<void> {
    if (this.batch.length === 0 || !this.current) return;
    const name = this.current.line.store;
    const batch = this.batch;
    this.batch = [];
    this.batchChars = 0;
    await this.db.transaction('write', async (tx: Transaction) => {
      const tree: Btree<unknown, unknown> = await this.host.openAny(tx, name);
      for (const [key, value, no] of batch) {
        const added = await tree.add(key, value).catch((error: unknown) => {
          throw SopError.is(error, 'INVALID_ARGUMENT') ? new LineError(no, error.message) : error;
        });
        if (!added) throw new LineError(no, `store ${name}: a duplicate key`);
      }
    }, { retries: 0 });
    this.items += batch.length;
  }

  /** Errors of a line name the file and line; a bad key, value or option in the file is a malformed file (CORRUPT). */
  private located(error: unknown, at: number): SopError {
    const no = error instanceof LineError ? error.no : at;
    const where = `${this.path} line ${no}`;
    if (error instanceof SopError) {
      const code = error.code === 'INVALID_ARGUMENT' || error.code === 'STORE_EXISTS' ? 'CORRUPT' : error.code;
      return new SopError(code, `${where}: ${error.message}`, { cause: error });
    }
    return corrupt(`${where}: ${error instanceof Error ? error.message : String(error)}`, error);
  }
}

/** An error found later (when a batch is added) that belongs to an earlier line. */
class LineError extends Error {
  constructor(
    readonly no: number,
    message: string,
  ) {
    super(message);
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error('not valid JSON');
  }
}

function checkTotals(end: EndLine, line: Line, stores: number, items: number, expectedStores: number): void {
  if (end.stores !== stores || expectedStores !== stores) throw new Error(`the file holds ${stores} stores, its header and end line say ${expectedStores} and ${end.stores}`);
  if (end.items !== items) throw new Error(`the file holds ${items} items, its end line says ${end.items}`);
  if (end.crc32 !== undefined && end.crc32 !== line.crcBefore) throw new Error('checksum mismatch: the file was changed or damaged');
}
