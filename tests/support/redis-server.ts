/**
 * Real Redis for tests: spawns the local `redis-server` binary on free loopback ports, with no
 * persistence (`--save '' --appendonly no`), so a restart loses everything and gets a new run_id.
 *
 * When a Docker engine is available (`docker info` succeeds), testcontainers could supply Redis
 * instead; these helpers still use the local binary, which CI installs. If `redis-server` is not
 * installed, `requireRedisBinaries()` throws a clear error: suites fail, they do not skip.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerOptions {
  /** `--requirepass`. */
  password?: string;
  /** Extra command-line arguments, e.g. ['--cluster-enabled', 'yes']. */
  args?: string[];
  /** Fixed port (default: a free one). */
  port?: number;
}

const live = new Set<RedisServer>();
let announced = false;

function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<{ ok: boolean; stdout: string; stderr: string; error?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ ok: !error, stdout: String(stdout), stderr: String(stderr), ...(error ? { error: error as NodeJS.ErrnoException } : {}) });
    });
  });
}

/** Fails (never skips) when the binaries are missing; prints once where Redis comes from. */
export async function requireRedisBinaries(needCli = false): Promise<void> {
  const server = await run('redis-server', ['--version']);
  if (!server.ok) {
    throw new Error(
      'redis-server is not installed or not on PATH: these tests need a real Redis ' +
        '(apt-get install redis-server / brew install redis; CI installs it). ' +
        `(${server.error?.code ?? server.stderr.trim()})`,
    );
  }
  if (needCli) {
    const cli = await run('redis-cli', ['--version']);
    if (!cli.ok) throw new Error('redis-cli is not installed or not on PATH: the Redis Cluster test needs it to create the cluster (it ships with redis-server).');
  }
  if (!announced) {
    announced = true;
    const docker = await run('docker', ['info'], 5_000);
    console.log(
      docker.ok
        ? 'redis: Docker engine available (testcontainers could supply Redis); using local redis-server binary'
        : 'redis: using local redis-server binary (no Docker engine)',
    );
  }
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Sends one inline command over a raw socket; resolves with the first reply line, or null. */
export function rawCommand(port: number, command: string, timeoutMs = 500): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (value: string | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.includes('\r\n')) done(data);
    });
    socket.on('error', () => done(null));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class RedisServer {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private output = '';
  readonly dir: string;

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `sop-redis-${port}-`));
  }

  /** Starts a server on a free port (retrying with another port if one was taken meanwhile). */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    await requireRedisBinaries();
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const server = new RedisServer(options.port ?? (await freePort()), options);
      live.add(server);
      try {
        await server.spawn();
        return server;
      } catch (error) {
        lastError = error;
        await server.kill();
        server.removeDir();
        live.delete(server);
        if (options.port !== undefined) break;
      }
    }
    throw lastError;
  }

  get url(): string {
    return this.options.password ? `redis://:${encodeURIComponent(this.options.password)}@127.0.0.1:${this.port}` : `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** SIGTERM and wait for the exit. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** SIGKILL and wait for the exit. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGSTOP: the process keeps its sockets but stops answering (a hung server). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGCONT after pause(). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Kill, then start again on the same port: total loss (no persistence) and a new run_id. */
  async restart(): Promise<void> {
    await this.kill();
    await this.spawn();
  }

  /** Starts the process again after stop()/kill() (same port). */
  async startAgain(): Promise<void> {
    if (this.child) return;
    await this.spawn();
  }

  /** Stops the process and removes its directory. */
  async dispose(): Promise<void> {
    await this.kill();
    this.removeDir();
    live.delete(this);
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    await this.exited;
  }

  private removeDir(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async spawn(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--loglevel', 'warning'];
    if (this.options.password) args.push('--requirepass', this.options.password);
    args.push(...(this.options.args ?? []));
    this.output = '';
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000)));
    child.stderr!.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000)));
    let exitedEarly = false;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        exitedEarly = true;
        if (this.child === child) this.child = null;
        resolve();
      });
      child.once('error', () => {
        exitedEarly = true;
        if (this.child === child) this.child = null;
        resolve();
      });
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (exitedEarly) throw new Error(`redis-server on port ${this.port} exited during start-up:\n${this.output}`);
      const reply = await rawCommand(this.port, 'PING', 300);
      if (reply && (reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'))) return;
      await sleep(20);
    }
    throw new Error(`redis-server on port ${this.port} did not answer PING within 10 s:\n${this.output}`);
  }
}

/** Stops every server this process started (mocha root `after` and process exit). */
export async function stopAllRedisServers(): Promise<void> {
  await Promise.all([...live].map((s) => s.dispose()));
}

process.once('exit', () => {
  for (const server of live) (server as unknown as { child: ChildProcess | null }).child?.kill('SIGKILL');
});

/**
 * Mocha helper: one server for the enclosing `describe`, started in `before`, disposed in
 * `after`. Returns a getter (the server exists only once `before` ran).
 */
export function useRedisServer(options: RedisServerOptions = {}): () => RedisServer {
  let server: RedisServer | undefined;
  before(async function () {
    this.timeout(30_000);
    server = await RedisServer.start(options);
  });
  after(async () => {
    await server?.dispose();
  });
  return () => {
    if (!server) throw new Error('redis-server was not started (see the before hook failure)');
    return server;
  };
}

/** A Redis Cluster of `masters` loopback nodes (no replicas), each with its own nodes.conf dir. */
export class RedisClusterServers {
  private constructor(readonly nodes: RedisServer[]) {}

  static async start(masters = 3): Promise<RedisClusterServers> {
    await requireRedisBinaries(true);
    const nodes: RedisServer[] = [];
    try {
      for (let i = 0; i < masters; i++) {
        nodes.push(await RedisServer.start({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'] }));
      }
      const create = await run(
        'redis-cli',
        ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
        60_000,
      );
      if (!create.ok) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`);
      const cluster = new RedisClusterServers(nodes);
      await cluster.waitUntilOk();
      return cluster;
    } catch (error) {
      await Promise.all(nodes.map((n) => n.dispose()));
      throw error;
    }
  }

  get seeds(): Array<{ host: string; port: number }> {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  /** Every node reports cluster_state:ok. */
  async waitUntilOk(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const states = await Promise.all(this.nodes.map((n) => run('redis-cli', ['-p', String(n.port), 'cluster', 'info'], 2_000)));
      last = states.map((s) => /cluster_state:(\w+)/.exec(s.stdout)?.[1] ?? '?').join(',');
      if (states.every((s) => /cluster_state:ok/.test(s.stdout))) return;
      await sleep(100);
    }
    throw new Error(`redis cluster did not reach cluster_state:ok within ${timeoutMs} ms (states: ${last})`);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.dispose()));
  }
}
