import { createHash } from 'node:crypto';
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Coordinator } from '../ports/coordinator.js';

/**
 * Coordinator over Redis (ioredis): the L2 cache and the lock service of the clustered mode.
 *
 * Semantics follow MemoryCoordinator (the reference):
 * - `lock` is one Lua script: set when absent *or already ours* (re-entrant, re-arms the TTL),
 *   else return the current owner. Atomic, so there is no SETNX/GET window where the key
 *   vanishes and the owner is unknown (SOP's E123 "nil owner" case).
 * - `unlock` is compare-and-delete and `extend` compare-and-pexpire, both Lua: never a plain
 *   DEL (SOP's E123 hazard: an expired lock re-taken by someone else deleted by the old holder).
 * - Cache values are bytes (binary-safe SET/GETBUFFER with PX). A TTL <= 0 (or NaN) means
 *   "do not cache": nothing is written (E115's hazard was "cache forever").
 * - Keys are used exactly as the caller passes them: the engine namespaces them once (E129).
 * - `runId()` is `run_id` from `INFO server`, so a restart with total loss is detectable. On a
 *   cluster it is the sorted run ids of every master joined by ',' (any master restart changes it).
 *
 * Redis Cluster: every script touches exactly one key, so any key works; keys sharing a
 * `{hash tag}` (e.g. `sop:{db1}:b:42`) land in one slot and hence one master. `cacheDelete`
 * issues one DEL per key on a cluster (keys may span slots; a multi-key DEL would be CROSSSLOT).
 *
 * Failure policy (so a call never hangs while Redis is down):
 * - `connectTimeout` 2000 ms per connection attempt.
 * - `commandTimeout` 2000 ms per command (armed also while the command waits in the offline
 *   queue, so calls made during a reconnect reject within it).
 * - `maxRetriesPerRequest` 1: a queued command is failed after the next failed reconnect.
 * - `retryStrategy`: reconnect forever with backoff 100, 200, 400, 800, then 1000 ms, so the
 *   adapter recovers by itself once Redis is back.
 * - The offline queue stays enabled (commands issued while the first connection is being made
 *   wait for it rather than failing at once); the timeouts above bound the wait.
 * - On top of that, every call races an adapter-level deadline (`callTimeoutMs`, default
 *   connectTimeout + commandTimeout) which also covers the cluster client's own offline queue.
 * Errors are `RedisCoordinatorError`s whose message names the target and the problem
 * (connection refused, host not found, authentication failed, timed out, ...) and whose `code`
 * is the underlying one (`ECONNREFUSED`, `ETIMEDOUT`, `WRONGPASS`...; the engine maps
 * `ETIMEDOUT` to a TIMEOUT SopError).
 *
 * Retried commands are harmless: a resent `lock` by the same owner is re-entrant, a resent
 * `unlock` of a lock already released returns false (callers ignore unlock's result), and a
 * resent `extend`/`cacheSet` re-arms a TTL.
 */

export interface RedisCoordinatorOptions {
  /** Per connection attempt (ioredis `connectTimeout`). Default 2000 ms. */
  connectTimeoutMs?: number;
  /** Per command (ioredis `commandTimeout`). Default 2000 ms. */
  commandTimeoutMs?: number;
  /** Adapter-level bound on any call. Default connectTimeoutMs + commandTimeoutMs. */
  callTimeoutMs?: number;
  /** ioredis `maxRetriesPerRequest`. Default 1. */
  maxRetriesPerRequest?: number;
  /** Longest pause between reconnect attempts. Default 1000 ms. */
  maxReconnectDelayMs?: number;
}

/** What `RedisCoordinator` can be built from. */
export type RedisTarget =
  /** `redis://[user:password@]host:port[/db]` or `rediss://...` (TLS). */
  | string
  /** ioredis options for a standalone server (our timeout defaults fill what is unset). */
  | RedisOptions
  /** An existing client: the adapter neither sets its options nor quits it on close(). */
  | Redis
  | Cluster
  /** A Redis Cluster: seed nodes, plus optional ioredis Cluster options. */
  | { cluster: readonly ClusterNode[]; clusterOptions?: ClusterOptions };

export class RedisCoordinatorError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RedisCoordinatorError';
    this.code = code;
  }
}

type Client = Redis | Cluster;

/** Sets `KEYS[1]` to `ARGV[1]` with PX `ARGV[2]` when absent or already ours; else returns the owner. */
const LOCK = `local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return nil
end
return cur`;
/** Compare-and-delete. */
const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;
/** Compare-and-pexpire. */
const EXTEND = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

const SHA = new Map([LOCK, UNLOCK, EXTEND].map((s) => [s, createHash('sha1').update(s).digest('hex')]));

export class RedisCoordinator implements Coordinator {
  readonly kind = 'redis' as const;
  /** The ioredis client (or cluster) in use. */
  readonly client: Client;
  /** Human-readable target, password masked: used in error messages. */
  readonly target: string;
  private readonly owned: boolean;
  private readonly isCluster: boolean;
  private readonly callTimeoutMs: number;
  private lastError: Error | undefined;
  private closed = false;
  private readonly onError = (error: Error): void => {
    this.lastError = error;
  };
  private readonly onReady = (): void => {
    this.lastError = undefined;
  };

  constructor(target: RedisTarget, options: RedisCoordinatorOptions = {}) {
    const connectTimeout = positive(options.connectTimeoutMs, 2000, 'connectTimeoutMs');
    const commandTimeout = positive(options.commandTimeoutMs, 2000, 'commandTimeoutMs');
    this.callTimeoutMs = positive(options.callTimeoutMs, connectTimeout + commandTimeout, 'callTimeoutMs');
    const maxDelay = positive(options.maxReconnectDelayMs, 1000, 'maxReconnectDelayMs');
    const defaults: RedisOptions = {
      connectTimeout,
      commandTimeout,
      maxRetriesPerRequest: options.maxRetriesPerRequest ?? 1,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
      enableOfflineQueue: true,
      enableReadyCheck: true,
      lazyConnect: false,
    };

    if (isClient(target)) {
      this.client = target;
      this.owned = false;
      this.isCluster = isClusterClient(target);
      this.target = this.isCluster ? 'redis cluster (caller-supplied client)' : describeOptions(target.options ?? {});
    } else if (typeof target === 'string') {
      const url = parseRedisUrl(target);
      this.client = new Redis(target, defaults);
      this.owned = true;
      this.isCluster = false;
      this.target = maskUrl(url);
    } else if (isClusterTarget(target)) {
      if (!Array.isArray(target.cluster) || target.cluster.length === 0) {
        throw new RedisCoordinatorError('redis cluster: at least one seed node { host, port } is required', 'EINVAL');
      }
      const given = target.clusterOptions ?? {};
      this.client = new Cluster([...target.cluster], {
        clusterRetryStrategy: (times) => Math.min(100 * times, maxDelay),
        enableOfflineQueue: true,
        enableReadyCheck: true,
        ...given,
        redisOptions: { ...defaults, ...(given.redisOptions ?? {}) },
      });
      this.owned = true;
      this.isCluster = true;
      this.target = `redis cluster ${target.cluster.map((n) => (typeof n === 'object' ? `${n.host ?? '127.0.0.1'}:${n.port ?? 6379}` : String(n))).join(',')}`;
    } else if (target !== null && typeof target === 'object') {
      const merged: RedisOptions = { ...defaults, ...target };
      this.client = new Redis(merged);
      this.owned = true;
      this.isCluster = false;
      this.target = describeOptions(merged);
    } else {
      throw new RedisCoordinatorError(`redis: unsupported target ${String(target)}: pass a redis:// URL, ioredis options, a client, or { cluster: [...] }`, 'EINVAL');
    }
    this.client.on('error', this.onError);
    this.client.on('node error', this.onError);
    this.client.on('ready', this.onReady);
  }

  /** Builds the adapter and proves the server answers (PING): misconfiguration fails here. */
  static async connect(target: RedisTarget, options: RedisCoordinatorOptions = {}): Promise<RedisCoordinator> {
    const coordinator = new RedisCoordinator(target, options);
    try {
      await coordinator.call('ping', () => coordinator.client.ping());
      return coordinator;
    } catch (error) {
      await coordinator.close();
      throw error;
    }
  }

  async runId(): Promise<string> {
    return this.call('runId', async () => {
      if (!this.isCluster) return parseRunId(await this.client.info('server'));
      const masters = (this.client as Cluster).nodes('master');
      if (masters.length === 0) throw new Error('no cluster master is known');
      const ids = await Promise.all(masters.map(async (node) => parseRunId(await node.info('server'))));
      return ids.sort().join(',');
    });
  }

  async cacheGet(key: string): Promise<Uint8Array | null> {
    const value = await this.call('cacheGet', () => this.client.getBuffer(key));
    // Copy: reply buffers may be views into a larger one; callers get a plain, owned array.
    return value == null ? null : new Uint8Array(value);
  }

  async cacheSet(key: string, value: Uint8Array, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) return; // TTL <= 0 / NaN: do not cache (never "forever")
    const px = ms(ttlMs, 'cacheSet');
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    await this.call('cacheSet', () => this.client.set(key, bytes, 'PX', px));
  }

  async cacheDelete(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.call('cacheDelete', async () => {
      if (this.isCluster) await Promise.all(keys.map((key) => this.client.del(key)));
      else await this.client.del(...keys);
    });
  }

  async lock(key: string, owner: string, ttlMs: number): Promise<string | null> {
    const px = ms(ttlMs, 'lock');
    const current = await this.call('lock', () => this.script(LOCK, key, owner, px));
    return current == null || current === false ? null : String(current);
  }

  async unlock(key: string, owner: string): Promise<boolean> {
    return Number(await this.call('unlock', () => this.script(UNLOCK, key, owner))) === 1;
  }

  async extend(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const px = ms(ttlMs, 'extend');
    return Number(await this.call('extend', () => this.script(EXTEND, key, owner, px))) === 1;
  }

  async owner(key: string): Promise<string | null> {
    return (await this.call('owner', () => this.client.get(key))) ?? null;
  }

  /** Quits the client when this adapter created it; a caller-supplied client is left open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.off('error', this.onError);
    this.client.off('node error', this.onError);
    this.client.off('ready', this.onReady);
    if (!this.owned) return;
    this.client.on('error', () => undefined); // late socket errors while closing are not ours to report
    if (this.client.status !== 'ready') {
      this.client.disconnect();
      return;
    }
    try {
      await withDeadline(this.client.quit(), this.callTimeoutMs, 'quit');
    } catch {
      this.client.disconnect(); // a connection that cannot quit politely is dropped
    }
  }

  /** EVALSHA, falling back to EVAL when the server does not have the script (NOSCRIPT). */
  private async script(source: string, key: string, ...args: Array<string | number>): Promise<unknown> {
    try {
      return await this.client.evalsha(SHA.get(source)!, 1, key, ...args);
    } catch (error) {
      if (!/NOSCRIPT/.test(messageOf(error))) throw error;
      return this.client.eval(source, 1, key, ...args);
    }
  }

  /** Runs one call under the adapter deadline and turns any failure into a clear error. */
  private async call<T>(op: string, run: () => Promise<T>): Promise<T> {
    if (this.closed) throw new RedisCoordinatorError(`${this.target}: ${op} after close()`, 'ECLOSED');
    try {
      return await withDeadline(run(), this.callTimeoutMs, op);
    } catch (error) {
      throw this.explain(op, error);
    }
  }

  private explain(op: string, error: unknown): RedisCoordinatorError {
    const message = messageOf(error);
    const connection = this.lastError;
    // Generic "not connected" failures carry no reason: the last connection error does.
    const generic = /Stream isn't writeable|Connection is closed|max retries per request|Reached the max retries|Command timed out|timed out after|None of startup nodes|Failed to refresh slots cache|ClusterAllFailed/i.test(message);
    const cause: unknown = generic && connection ? connection : error;
    const code = codeOf(cause) ?? codeOf(error) ?? (/timed out/i.test(message) ? 'ETIMEDOUT' : undefined);
    const reason = describeProblem(cause, code);
    // A cluster's "Failed to refresh slots cache" carries the last node's error.
    const nodeError = (cause as { lastNodeError?: unknown } | undefined)?.lastNodeError;
    const detail =
      (cause === error ? message : `${message}; last connection error: ${messageOf(connection)}`) +
      (nodeError instanceof Error ? ` (last node error: ${nodeError.message})` : '');
    return new RedisCoordinatorError(`${this.target}: ${op} failed: ${reason} (${detail})`, code, error);
  }
}

/** Throws a clear error for anything that is not a redis:// or rediss:// URL with a host. */
export function parseRedisUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RedisCoordinatorError(`invalid Redis URL ${JSON.stringify(text)}: expected redis://[user:password@]host:port[/db]`, 'EINVAL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    const hint = text.includes('://') ? '' : ` (did you mean redis://${text}?)`;
    throw new RedisCoordinatorError(`invalid Redis URL ${JSON.stringify(maskUrl(url))}: the scheme must be redis:// or rediss://, not ${url.protocol}//${hint}`, 'EINVAL');
  }
  if (url.hostname === '') throw new RedisCoordinatorError(`invalid Redis URL ${JSON.stringify(maskUrl(url))}: no host`, 'EINVAL');
  if (url.port !== '' && !(Number(url.port) > 0)) throw new RedisCoordinatorError(`invalid Redis URL ${JSON.stringify(maskUrl(url))}: bad port`, 'EINVAL');
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new RedisCoordinatorError(`invalid Redis URL ${JSON.stringify(maskUrl(url))}: the path must be a database number`, 'EINVAL');
  return url;
}

function describeProblem(error: unknown, code: string | undefined): string {
  const message = messageOf(error);
  if (code === 'ECONNREFUSED') return 'connection refused: is redis-server running and listening there?';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found (DNS lookup failed)';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection reset by the server';
  if (/WRONGPASS|invalid password|invalid username-password/i.test(message)) return 'authentication failed: wrong password or username';
  if (/NOAUTH/i.test(message)) return 'authentication required: no or wrong password configured';
  if (/CLUSTERDOWN/.test(message)) return 'the cluster is down';
  if (/slots cache|startup nodes|ClusterAllFailed/i.test(message)) return 'cannot reach any cluster node (are the seed nodes up and cluster-enabled?)';
  if (code === 'ETIMEDOUT' || /timed out|timeout/i.test(message)) return 'timed out (Redis unreachable or not answering)';
  if (/Connection is closed|Stream isn't writeable|max retries/i.test(message)) return 'not connected to Redis';
  return 'Redis error';
}

function withDeadline<T>(promise: Promise<T>, timeoutMs: number, op: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${op} timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
    timer.unref?.();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function parseRunId(info: string): string {
  const match = /^run_id:([0-9a-zA-Z]+)\s*$/m.exec(info);
  if (!match) throw new Error('INFO server has no run_id');
  return match[1]!;
}

/** TTLs are milliseconds > 0; Redis wants an integer, so round up (never down to 0). */
function ms(ttlMs: number, op: string): number {
  if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) {
    throw new RedisCoordinatorError(`${op}: ttlMs must be a finite number > 0, got ${ttlMs}`, 'EINVAL');
  }
  return Math.max(1, Math.ceil(ttlMs));
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(value > 0) || !Number.isFinite(value)) throw new RedisCoordinatorError(`${name} must be a finite number > 0`, 'EINVAL');
  return value;
}

function isClient(x: unknown): x is Client {
  return typeof x === 'object' && x !== null && typeof (x as Redis).getBuffer === 'function' && typeof (x as Redis).evalsha === 'function';
}

function isClusterClient(x: Client): x is Cluster {
  return x instanceof Cluster || (x as { isCluster?: boolean }).isCluster === true;
}

function isClusterTarget(x: unknown): x is { cluster: readonly ClusterNode[]; clusterOptions?: ClusterOptions } {
  return typeof x === 'object' && x !== null && 'cluster' in x;
}

function describeOptions(o: RedisOptions): string {
  if (o.path) return `redis unix:${o.path}`;
  return `redis ${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`;
}

function maskUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password) copy.password = '***';
  return copy.href;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  if (typeof code === 'string') return code;
  const message = messageOf(error);
  const m = /^(WRONGPASS|NOAUTH|CLUSTERDOWN|NOPERM)\b/.exec(message) ?? /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET)\b/.exec(message);
  return m?.[1];
}
