/**
 * RedisCoordinator against a real redis-server that goes away, hangs, or refuses us: every call
 * settles (never hangs) with an error naming the problem, and the adapter recovers by itself.
 * Durations are measured and printed; the only timing assertion is "it settled before the test
 * timeout" (the adapter's bound is connectTimeout + commandTimeout = 4 s by default).
 */
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisCoordinator, RedisCoordinatorError } from '../../src/adapters/redis-coordinator.js';
import { freePort, RedisServer, useRedisServer } from '../support/redis-server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Awaits a call that must reject; returns the error and how long it took. */
async function rejection(call: () => Promise<unknown>): Promise<{ error: RedisCoordinatorError; ms: number }> {
  const start = performance.now();
  try {
    await call();
  } catch (error) {
    assert.ok(error instanceof RedisCoordinatorError, `a RedisCoordinatorError, got ${String(error)}`);
    return { error, ms: Math.round(performance.now() - start) };
  }
  assert.fail('the call succeeded; it should have rejected');
}

/** Retries `call` until it succeeds (recovery); returns the result and the time it took. */
async function eventually<T>(call: () => Promise<T>, limitMs = 20_000): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  for (;;) {
    try {
      return { value: await call(), ms: Math.round(performance.now() - start) };
    } catch (error) {
      if (performance.now() - start > limitMs) throw error;
      await sleep(50);
    }
  }
}

describe('RedisCoordinator faults (real redis-server)', function () {
  this.timeout(60_000);

  describe('server down, hung, restarted', () => {
    const server = useRedisServer();
    let c: RedisCoordinator;
    beforeEach(async () => {
      if (!server().running) await server().startAgain();
      c = await RedisCoordinator.connect(server().url);
    });
    afterEach(async () => {
      server().resume();
      await c.close();
    });

    it('a call while the server is down rejects (settles) with "connection refused"', async () => {
      await c.lock('f:down', 'alice', 10_000);
      await server().kill();
      for (const [name, call] of [
        ['lock', () => c.lock('f:down', 'alice', 1000)],
        ['owner', () => c.owner('f:down')],
        ['cacheGet', () => c.cacheGet('f:x')],
        ['runId', () => c.runId()],
      ] as const) {
        const { error, ms } = await rejection(call);
        console.log(`      ${name} while down: rejected after ${ms} ms (${error.code})`);
        assert.match(error.message, /connection refused|not connected|timed out/);
        assert.match(error.message, new RegExp(`${server().port}`), 'names the target');
      }
    });

    it('recovers by itself once the server is back (restart: new runId, state gone)', async () => {
      const before = await c.runId();
      await c.lock('f:rec', 'alice', 60_000);
      await server().kill();
      await rejection(() => c.owner('f:rec'));
      await server().startAgain();
      const { value: after, ms } = await eventually(() => c.runId());
      console.log(`      recovered ${ms} ms after the server came back`);
      assert.notEqual(after, before);
      assert.equal(await c.owner('f:rec'), null);
      assert.equal(await c.lock('f:rec', 'bob', 1000), null);
    });

    it('a hung server (SIGSTOP) makes calls reject with a timeout, and they work again after SIGCONT', async () => {
      await c.lock('f:hang', 'alice', 60_000);
      server().pause();
      const { error, ms } = await rejection(() => c.owner('f:hang'));
      console.log(`      owner on a hung server: rejected after ${ms} ms (${error.code})`);
      assert.equal(error.code, 'ETIMEDOUT');
      assert.match(error.message, /timed out/);
      server().resume();
      const { value } = await eventually(() => c.owner('f:hang'));
      assert.equal(value, 'alice');
    });

    it('close() settles while the server is down, and calls after close() reject clearly', async () => {
      await server().kill();
      await c.close();
      const { error } = await rejection(() => c.owner('k'));
      assert.match(error.message, /after close\(\)/);
    });

    it('close() leaves a caller-supplied client open', async () => {
      const client = new Redis(server().url);
      try {
        const own = new RedisCoordinator(client);
        assert.equal(await own.lock('f:own', 'alice', 1000), null);
        await own.close();
        assert.equal(await client.get('f:own'), 'alice');
      } finally {
        client.disconnect();
      }
    });
  });

  describe('misconfiguration', () => {
    const server = useRedisServer({ password: 's3cret' });

    it('a wrong password gives an error naming an authentication failure', async () => {
      const url = `redis://:wrong@127.0.0.1:${server().port}`;
      const { error, ms } = await rejection(() => RedisCoordinator.connect(url));
      console.log(`      wrong password: rejected after ${ms} ms: ${error.message}`);
      assert.equal(error.code, 'WRONGPASS');
      assert.match(error.message, /authentication failed: wrong password/);
      assert.doesNotMatch(error.message, /wrong@/, 'the password is masked');
    });

    it('no password against a server that needs one names the missing authentication', async () => {
      const c = new RedisCoordinator({ host: '127.0.0.1', port: server().port });
      try {
        const { error } = await rejection(() => c.lock('k', 'o', 1000));
        assert.equal(error.code, 'NOAUTH');
        assert.match(error.message, /authentication required/);
      } finally {
        await c.close();
      }
    });

    it('the right password works', async () => {
      const c = await RedisCoordinator.connect(server().url);
      try {
        assert.equal(await c.lock('k', 'o', 1000), null);
      } finally {
        await c.close();
      }
    });

    it('an unreachable URL (nothing listening) gives "connection refused"', async () => {
      const port = await freePort();
      const { error, ms } = await rejection(() => RedisCoordinator.connect(`redis://127.0.0.1:${port}`));
      console.log(`      unreachable: rejected after ${ms} ms: ${error.message}`);
      assert.equal(error.code, 'ECONNREFUSED');
      assert.match(error.message, /connection refused/);
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    });

    it('an unknown host gives "host not found" (or a timeout where DNS hangs)', async () => {
      const { error, ms } = await rejection(() => RedisCoordinator.connect('redis://no-such-host.invalid:6379'));
      console.log(`      unknown host: rejected after ${ms} ms (${error.code})`);
      assert.match(error.message, /host not found|timed out/);
      assert.match(error.message, /no-such-host\.invalid/);
    });

    it('a malformed URL throws at once, naming what is wrong', () => {
      assert.throws(() => new RedisCoordinator('localhost:6379'), /scheme must be redis:\/\/ or rediss:\/\/.*did you mean redis:\/\/localhost:6379/);
      assert.throws(() => new RedisCoordinator('http://example.com'), /scheme must be redis:\/\/ or rediss:\/\//);
      assert.throws(() => new RedisCoordinator('not a url'), /invalid Redis URL "not a url"/);
      assert.throws(() => new RedisCoordinator('redis://127.0.0.1:6379/abc'), /database number/);
      assert.throws(() => new RedisCoordinator('redis://:pw@127.0.0.1:6379/x'), (e: Error) => !e.message.includes(':pw@'));
    });

    it('a lock TTL <= 0 is rejected before any command is sent', async () => {
      const c = new RedisCoordinator(server().url);
      try {
        await assert.rejects(() => c.lock('k', 'o', 0), /ttlMs must be a finite number > 0/);
        await assert.rejects(() => c.extend('k', 'o', -5), /ttlMs must be a finite number > 0/);
      } finally {
        await c.close();
      }
    });
  });

  it('RedisServer.restart() gives a fresh server on the same port', async () => {
    const s = await RedisServer.start();
    try {
      const c = await RedisCoordinator.connect(s.url);
      const a = await c.runId();
      await s.restart();
      const { value: b } = await eventually(() => c.runId());
      assert.notEqual(a, b);
      await c.close();
    } finally {
      await s.dispose();
    }
  });
});
