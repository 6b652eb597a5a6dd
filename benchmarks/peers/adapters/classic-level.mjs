// classic-level as a bench peer (shared/notes/perf-peers.md): utf8 keys, buffer values, defaults
// (snappy on). A Txn is a chained batch written with {sync: true}; get is getSync; scan uses
// iterator.nextv(1000) with highWaterMarkBytes of 1 MiB. An LSM: its writes only append a log.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';

const version = (name) => JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;

export default {
  name: 'classic-level',
  info() {
    return {
      package: `classic-level ${version('classic-level')}`,
      settings: "keyEncoding 'utf8', valueEncoding 'buffer', defaults, chained batch write({sync: true}), getSync, iterator nextv(1000)",
    };
  },
  async open(dir) {
    const db = new ClassicLevel(join(dir, 'bench.level'), { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await db.open();
    return {
      begin() {
        const batch = db.batch();
        return {
          put(k, v) {
            batch.put(k, v);
          },
          del(k) {
            batch.del(k);
          },
          commit: () => batch.write({ sync: true }),
        };
      },
      get: (k) => db.getSync(k),
      async scan({ gte, lt }, visit) {
        const options = { highWaterMarkBytes: 1024 * 1024 };
        if (gte !== undefined) options.gte = gte;
        if (lt !== undefined) options.lt = lt;
        const it = db.iterator(options);
        let n = 0;
        try {
          for (;;) {
            const entries = await it.nextv(1000);
            if (entries.length === 0) break;
            for (const [k, v] of entries) visit(k, v);
            n += entries.length;
          }
        } finally {
          await it.close();
        }
        return n;
      },
      close: () => db.close(),
    };
  },
};
