/**
 * The Coordinator conformance suite against the four adapters: MemoryCoordinator (fake clock),
 * RedisCoordinator over ioredis-mock, RedisCoordinator over a real redis-server, and the
 * simulator's SimRedis (driven by its event loop).
 */
import type { Redis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { MemoryCoordinator } from '../../src/adapters/memory-coordinator.js';
import { RedisCoordinator } from '../../src/adapters/redis-coordinator.js';
import { SeededRandom } from '../../src/adapters/seeded-random.js';
import type { Clock } from '../../src/ports/clock.js';
import type { Coordinator } from '../../src/ports/coordinator.js';
import { EventLoop } from '../../sim/event-loop.js';
import { ProcessGate } from '../../sim/gate.js';
import { SeededSimRandom } from '../../sim/random.js';
import { SimRedis } from '../../sim/sim-redis.js';
import { useRedisServer } from '../support/redis-server.js';
import { coordinatorConformance, type Harness } from './conformance.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A Clock the test advances by hand. */
class FakeClock implements Clock {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.t += ms;
  }
}

// ---- MemoryCoordinator -------------------------------------------------------------------------
let memorySeed = 1;
async function memoryHarness(): Promise<Harness> {
  const clock = new FakeClock();
  const coordinator = new MemoryCoordinator(clock, new SeededRandom(memorySeed++));
  return {
    coordinator,
    peer: null,
    elapse: async (ms) => {
      clock.t += ms;
    },
    close: () => coordinator.close(),
  };
}

coordinatorConformance({
  name: 'MemoryCoordinator (fake clock)',
  kind: 'memory',
  ttl: 1000,
  keyPrefix: 'mem',
  setup: memoryHarness,
  restart: { mode: 'new-instance', fresh: memoryHarness },
  noPeerReason: 'in-process state',
});

// ---- RedisCoordinator over ioredis-mock ---------------------------------------------------------
coordinatorConformance({
  name: 'RedisCoordinator over ioredis-mock',
  kind: 'redis',
  ttl: 300, // ioredis-mock expires on the real clock: real waiting
  keyPrefix: 'mock',
  setup: async () => {
    // Same host/port: ioredis-mock instances share one keyspace (the peer is a second client).
    const a = new RedisMock({ host: 'mock', port: 1 }) as unknown as Redis;
    const b = new RedisMock({ host: 'mock', port: 1 }) as unknown as Redis;
    const coordinator = new RedisCoordinator(a);
    const peer = new RedisCoordinator(b);
    return {
      coordinator,
      peer,
      elapse: sleep,
      close: async () => {
        await coordinator.close();
        await peer.close();
        a.disconnect();
        b.disconnect();
      },
    };
  },
  restart: { mode: 'no-restart', reason: "ioredis-mock's INFO is canned: a fixed run_id, and no server to restart", pattern: /^[0-9a-f]{40}$/ },
});

// ---- RedisCoordinator over a real redis-server --------------------------------------------------
describe('real redis-server', function () {
  this.timeout(60_000);
  const server = useRedisServer();
  coordinatorConformance({
    name: 'RedisCoordinator over a real redis-server',
    kind: 'redis',
    ttl: 400, // real waiting; margins of >= 100 ms against scheduling noise
    keyPrefix: 'real',
    setup: async () => {
      const url = server().url;
      const coordinator = await RedisCoordinator.connect(url);
      const peer = await RedisCoordinator.connect(url);
      return {
        coordinator,
        peer,
        elapse: sleep,
        close: async () => {
          await coordinator.close();
          await peer.close();
        },
      };
    },
    restart: { mode: 'restart', support: () => ({ restart: () => server().restart() }) },
  });
});

// ---- SimRedis (the simulator's Redis) -----------------------------------------------------------
/** Wraps a simulated Coordinator so each call runs the event loop until it settles. */
function driven(loop: EventLoop, inner: Coordinator): Coordinator {
  const drive = async <T>(op: () => Promise<T>): Promise<T> => {
    let done = false;
    const p = op().finally(() => {
      done = true;
    });
    p.catch(() => undefined);
    const finished = await loop.run(() => done, loop.events + 100_000);
    if (!finished || !done) throw new Error('the simulated call did not settle');
    return p;
  };
  return {
    kind: inner.kind,
    runId: () => drive(() => inner.runId()),
    cacheGet: (k) => drive(() => inner.cacheGet(k)),
    cacheSet: (k, v, t) => drive(() => inner.cacheSet(k, v, t)),
    cacheDelete: (ks) => drive(() => inner.cacheDelete(ks)),
    lock: (k, o, t) => drive(() => inner.lock(k, o, t)),
    unlock: (k, o) => drive(() => inner.unlock(k, o)),
    extend: (k, o, t) => drive(() => inner.extend(k, o, t)),
    owner: (k) => drive(() => inner.owner(k)),
    close: () => drive(() => inner.close()),
  };
}

let simSeed = 7;
const simRedisOf = new WeakMap<Harness, SimRedis>();
coordinatorConformance({
  name: 'SimRedis view (simulator, virtual time)',
  kind: 'simulated',
  ttl: 1000,
  keyPrefix: 'sim',
  setup: async () => {
    const random = new SeededSimRandom(simSeed++);
    const loop = new EventLoop(random);
    const redis = new SimRedis(loop, random.fork('redis'));
    const harness: Harness = {
      coordinator: driven(loop, redis.view('n1', new ProcessGate())),
      peer: driven(loop, redis.view('n2', new ProcessGate())),
      elapse: async (ms) => {
        let done = false;
        void loop.sleep(ms, 'test.elapse').then(() => (done = true));
        await loop.run(() => done, loop.events + 100_000);
      },
      close: async () => undefined,
    };
    simRedisOf.set(harness, redis);
    return harness;
  },
  restart: { mode: 'restart', support: (h) => ({ restart: async () => simRedisOf.get(h)!.restart() }) },
});
