/**
 * Clustered mode's bad configurations (issue #4, "Bad input / faults"): Redis down at open, a
 * wrong URL, a wrong password. Each is a typed `UNAVAILABLE` (or `INVALID_ARGUMENT`) that names
 * the problem, within the connection timeout; nothing hangs and nothing is written. Also: Redis
 * dying under an open clustered database fails transactions cleanly, and they work again once
 * it is back (API-1, CLU-5).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database, SopError } from '../../src/index.js';
import { RedisServer, freePort, requireRedisBinaries } from '../support/redis-server.js';

const fast = { connectTimeoutMs: 300, commandTimeoutMs: 500 };

describe('clustered mode: configuration errors and Redis outages (API-1, CLU-5)', function () {
  this.timeout(60_000);
  let folder: string;
  before(() => requireRedisBinaries());
  beforeEach(() => (folder = mkdtempSync(join(tmpdir(), 'sop-open-'))));
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  it('API-1: Redis down at open is UNAVAILABLE naming the address, within the timeouts, and writes nothing', async () => {
    const port = await freePort();
    const started = Date.now();
    await assert.rejects(
      Database.open({ folder, mode: 'clustered', redis: `redis://127.0.0.1:${port}`, redisOptions: fast }),
      (e: unknown) => SopError.is(e, 'UNAVAILABLE') && e.message.includes(String(port)),
    );
    assert.ok(Date.now() - started < 10_000, `gave up after ${Date.now() - started} ms`);
    assert.deepEqual(readdirSync(folder), []);
  });

  it('API-1: a malformed URL is a typed error naming it', async () => {
    await assert.rejects(Database.open({ folder, mode: 'clustered', redis: 'http://nowhere', redisOptions: fast }), (e: unknown) => SopError.is(e) && /http|redis/i.test(e.message));
  });

  it('API-1: a wrong password is UNAVAILABLE naming the authentication failure', async () => {
    const server = await RedisServer.start({ password: 'right-password' });
    try {
      const url = `redis://:wrong-password@127.0.0.1:${server.port}`;
      await assert.rejects(Database.open({ folder, mode: 'clustered', redis: url, redisOptions: fast }), (e: unknown) => SopError.is(e, 'UNAVAILABLE') && /WRONGPASS|auth|password/i.test(e.message) && !e.message.includes('wrong-password'));
      const ok = await Database.open({ folder, mode: 'clustered', redis: server.url, redisOptions: fast });
      await ok.close();
    } finally {
      await server.dispose();
    }
  });

  it('CLU-5: Redis down mid-run fails transactions with a typed error; after it is back, commits work and nothing is lost', async () => {
    const server = await RedisServer.start();
    const db = await Database.open({ folder, mode: 'clustered', redis: server.url, redisOptions: fast, registryHashMod: 8 });
    try {
      await db.transaction('write', async (tx) => void (await (await db.newBtree<number, string>(tx, 's')).add(1, 'one')));
      await server.kill();
      const failed = await db.transaction('write', async (tx) => void (await (await db.openBtree<number, string>(tx, 's')).add(2, 'two')), { retries: 0 }).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(SopError.is(failed), `a typed error, got ${String(failed)}`);
      await server.startAgain();
      let done = false;
      for (let i = 0; i < 50 && !done; i++) {
        done = await db.transaction('write', async (tx) => void (await (await db.openBtree<number, string>(tx, 's')).upsert(3, 'three'))).then(() => true, () => false);
        if (!done) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(done, 'commits work again after Redis is back');
      const all = await db.transaction('read', async (tx) => {
        const s = await db.openBtree<number, string>(tx, 's');
        const m = new Map<number, string>();
        for await (const [k, v] of s.range()) m.set(k, v);
        return m;
      });
      assert.equal(all.get(1), 'one');
      assert.equal(all.get(3), 'three');
      assert.ok(!all.has(2) || all.get(2) === 'two');
    } finally {
      await db.close();
      await server.dispose();
    }
  });
});
