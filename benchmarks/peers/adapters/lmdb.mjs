// lmdb as a bench peer (shared/notes/perf-peers.md): open({path, encoding: 'binary'}), defaults
// otherwise (overlappingSync on). lmdb-js has no begin/commit pair for synchronous transactions,
// so a Txn buffers its operations and applies them in one transactionSync() at commit, which
// returns after the fdatasync.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';

const version = (name) => JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;

export default {
  name: 'lmdb',
  info() {
    return {
      package: `lmdb ${version('lmdb')}`,
      settings: "encoding 'binary', defaults (overlappingSync), transactionSync + putSync/removeSync, get (copy), getRange",
    };
  },
  open(dir) {
    const db = open({ path: join(dir, 'bench.mdb'), encoding: 'binary' });
    return {
      begin() {
        const ops = [];
        return {
          put(k, v) {
            ops.push(k, v);
          },
          del(k) {
            ops.push(k, undefined);
          },
          commit() {
            db.transactionSync(() => {
              for (let i = 0; i < ops.length; i += 2) {
                if (ops[i + 1] === undefined) db.removeSync(ops[i]);
                else db.putSync(ops[i], ops[i + 1]);
              }
            });
          },
        };
      },
      get: (k) => db.get(k),
      scan({ gte, lt }, visit) {
        let n = 0;
        for (const { key, value } of db.getRange({ start: gte, end: lt })) {
          visit(key, value);
          n++;
        }
        return n;
      },
      close: () => db.close(),
    };
  },
};
