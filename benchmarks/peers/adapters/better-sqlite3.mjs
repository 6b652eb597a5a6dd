// better-sqlite3 as a bench peer (shared/notes/perf-peers.md): WAL + synchronous=FULL (asserted),
// a clustered WITHOUT ROWID table, prepared statements, BEGIN IMMEDIATE ... COMMIT.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

const version = (name) => JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;

export default {
  name: 'better-sqlite3',
  info() {
    const db = new Database(':memory:');
    const sqlite = db.prepare('select sqlite_version()').pluck().get();
    db.close();
    return {
      package: `better-sqlite3 ${version('better-sqlite3')}`,
      engine: `SQLite ${sqlite}`,
      settings: 'journal_mode=WAL, synchronous=FULL, kv(k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID, BEGIN IMMEDIATE/COMMIT, other pragmas default',
    };
  },
  open(dir) {
    const db = new Database(join(dir, 'bench.sqlite'));
    const journal = db.pragma('journal_mode = WAL', { simple: true });
    if (journal !== 'wal') throw new Error(`journal_mode is ${journal}, not wal`);
    db.pragma('synchronous = FULL');
    const sync = db.pragma('synchronous', { simple: true });
    if (sync !== 2) throw new Error(`synchronous is ${sync}, not FULL (2)`);
    db.exec('CREATE TABLE kv(k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID');
    const put = db.prepare('INSERT INTO kv(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v');
    const del = db.prepare('DELETE FROM kv WHERE k = ?');
    const get = db.prepare('SELECT v FROM kv WHERE k = ?').pluck();
    const scans = {
      all: db.prepare('SELECT k, v FROM kv ORDER BY k').raw(),
      gte: db.prepare('SELECT k, v FROM kv WHERE k >= ? ORDER BY k').raw(),
      lt: db.prepare('SELECT k, v FROM kv WHERE k < ? ORDER BY k').raw(),
      both: db.prepare('SELECT k, v FROM kv WHERE k >= ? AND k < ? ORDER BY k').raw(),
    };
    const begin = db.prepare('BEGIN IMMEDIATE');
    const commit = db.prepare('COMMIT');
    const txn = {
      put(k, v) {
        put.run(k, v);
      },
      del(k) {
        del.run(k);
      },
      commit() {
        commit.run();
      },
    };
    return {
      begin() {
        begin.run();
        return txn;
      },
      get: (k) => get.get(k),
      scan({ gte, lt }, visit) {
        const it =
          gte !== undefined && lt !== undefined ? scans.both.iterate(gte, lt)
          : gte !== undefined ? scans.gte.iterate(gte)
          : lt !== undefined ? scans.lt.iterate(lt)
          : scans.all.iterate();
        let n = 0;
        for (const row of it) {
          visit(row[0], row[1]);
          n++;
        }
        return n;
      },
      close() {
        db.close();
      },
    };
  },
};
