/**
 * The FileSystem port conformance suite (fs-conformance.ts) against every implementation: the
 * real node:fs adapter in a temp folder, a SimDisk view, the fault decorator (no faults) over
 * each, and the replication decorator over each (two roots in sync; after every case both
 * roots must hold the same tree and the passive one must still be in sync).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import nodeFs from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FaultyFileSystem, plans } from '../../fault-injection/faulty-fs.js';
import { NodeFileSystem } from '../../src/adapters/node-file-system.js';
import type { Clock } from '../../src/ports/clock.js';
import type { FileSystem, LockRefused } from '../../src/ports/file-system.js';
import { ReplicatedFileSystem } from '../../src/replication/replicated-fs.js';
import { equal } from '../../src/replication/tree-copy.js';
import { ProcessGate } from '../../sim/gate.js';
import { SeededSimRandom } from '../../sim/random.js';
import { SimDisk } from '../../sim/sim-disk.js';
import type { IoScheduler } from '../../sim/types.js';
import { fsConformance, type Harness, type Peer } from './fs-conformance.js';

const PEER = fileURLToPath(new URL('./lock-peer.ts', import.meta.url));
const immediate: IoScheduler = { complete: async () => undefined };
const fixedClock: Clock = { now: () => 1_700_000_000_000, monotonic: () => 0, sleep: async () => undefined };

// ---- bases: where the bytes live ----------------------------------------------------------------

/** A storage the targets build on: a FileSystem, a fresh folder on it, and what it can do besides. */
interface Base {
  fs: FileSystem;
  /** A new, empty, durable folder. */
  folder(name: string): Promise<string>;
  peer: (() => Promise<Peer>) | null;
  /** Cuts the power; resolves to the new process's base FileSystem. */
  powerLoss: (() => Promise<FileSystem>) | null;
  close(): Promise<void>;
}

/** The real adapter in a temp folder; the peer is another OS process (killed with SIGKILL). */
function nodeBase(): Base {
  const dir = nodeFs.mkdtempSync(nodePath.join(os.tmpdir(), 'sop-fsconf-'));
  const fs = new NodeFileSystem();
  const children: ChildProcess[] = [];
  return {
    fs,
    folder: async (name) => {
      const folder = nodePath.join(dir, name);
      await fs.mkdir(folder);
      return folder;
    },
    peer: async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', PEER], { env: { ...process.env, NODE_V8_COVERAGE: '' }, stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(child);
      const replies = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      const next = async (): Promise<string> => {
        const line = await replies.next();
        if (line.done) throw new Error('the lock peer exited');
        return line.value;
      };
      assert.equal(await next(), 'ready');
      return {
        lock: async (path, mode, owner) => {
          child.stdin!.write(`${JSON.stringify({ path, mode, owner })}\n`);
          const reply = JSON.parse(await next()) as { held?: true; heldBy?: string; error?: string };
          if (reply.error !== undefined) throw new Error(`peer: ${reply.error}`);
          return reply.held === true ? true : ({ heldBy: reply.heldBy! } satisfies LockRefused);
        },
        kill: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGKILL');
          await exited;
        },
      };
    },
    powerLoss: null,
    close: async () => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      nodeFs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

let simSeed = 1;
/** A SimDisk with immediate completions; a peer is another process's view; power loss is the disk's crash model. */
function simBase(): Base {
  const disk = new SimDisk('d0', new SeededSimRandom(simSeed++));
  let gate = new ProcessGate();
  const base: Base = {
    fs: disk.view(gate, immediate),
    folder: async (name) => {
      const folder = `/${name}`;
      await base.fs.mkdir(folder);
      await base.fs.syncDir('/');
      await base.fs.syncDir(folder);
      return folder;
    },
    peer: async () => {
      const peerGate = new ProcessGate();
      const view = disk.view(peerGate, immediate);
      return {
        lock: async (path, mode, owner) => {
          const got = await view.lock(path, mode, owner);
          return 'heldBy' in got ? got : true;
        },
        kill: async () => peerGate.kill(),
      };
    },
    powerLoss: async () => {
      gate.kill();
      disk.crash();
      gate = new ProcessGate();
      base.fs = disk.view(gate, immediate);
      return base.fs;
    },
    close: async () => gate.kill(),
  };
  return base;
}

// ---- targets --------------------------------------------------------------------------------------

async function plain(base: Base): Promise<Harness> {
  return { fs: base.fs, root: await base.folder('work'), peer: base.peer, powerLoss: base.powerLoss, close: () => base.close() };
}

async function faulty(base: Base): Promise<Harness> {
  const root = await base.folder('work');
  const powerLoss = base.powerLoss;
  return {
    fs: new FaultyFileSystem(base.fs, plans.none()),
    root,
    peer: base.peer,
    powerLoss: powerLoss && (async () => new FaultyFileSystem(await powerLoss(), plans.none())),
    close: () => base.close(),
  };
}

/**
 * Two drive folders in sync. The cases run in `work/` inside the replicated folder (its root
 * holds the replication status). Locks pass through unmirrored (the engine locks each drive's
 * own folder), so lock files are left out of the comparison.
 */
async function replicated(base: Base): Promise<Harness> {
  const a = await base.folder('drive-a');
  const b = await base.folder('drive-b');
  const { fs, seed } = await ReplicatedFileSystem.open(base.fs, a, b, fixedClock);
  assert.equal(seed, false);
  assert.equal(fs.status.passive, 'in-sync');
  const root = `${a}/work`;
  await fs.mkdir(root);
  await fs.syncDir(a);
  return {
    fs,
    root,
    peer: base.peer,
    powerLoss: null,
    check: async () => {
      assert.equal(fs.status.passive, 'in-sync', `the passive drive left replication: ${fs.status.reason}`);
      assert.equal(fs.status.active, 0);
      assert.deepEqual(await differences(base.fs, a, b), [], 'both drives hold the same tree');
    },
    close: () => base.close(),
  };
}

/** Relative paths that differ between two trees (missing, kind, bytes), lock files left out. */
async function differences(fs: FileSystem, a: string, b: string, rel = ''): Promise<string[]> {
  const list = async (dir: string): Promise<string[]> => (await fs.readdir(dir)).filter((n) => !n.endsWith('.lock'));
  const [left, right] = [await list(a + rel), await list(b + rel)];
  const out: string[] = [];
  if (left.join('\0') !== right.join('\0')) out.push(`${rel || '/'}: [${left.join(', ')}] vs [${right.join(', ')}]`);
  for (const name of left.filter((n) => right.includes(n))) {
    const path = `${rel}/${name}`;
    const [x, y] = [await fs.stat(a + path), await fs.stat(b + path)];
    if (x!.isDirectory !== y!.isDirectory) out.push(`${path}: kind`);
    else if (x!.isDirectory) out.push(...(await differences(fs, a, b, path)));
    else if (!equal(await fs.readFile(a + path), await fs.readFile(b + path))) out.push(`${path}: bytes`);
  }
  return out;
}

const REAL_NO_POWER_LOSS = 'a power cut cannot be made under a test; the simulated disk models it';
const REPL_NO_BLOCKING = 'a failover or a passive drive leaving replication is recorded on disk before the call returns (REPL-2, REPL-4), which a blocking call cannot wait for';
const REPL_NO_POWER_LOSS = "each drive resolves its unsynced writes separately; the database's resync at open makes them equal again (resync.ts), which the simulator's replicated seeds check";

fsConformance({ name: 'NodeFileSystem (node:fs, temp folder)', setup: () => plain(nodeBase()), blocking: true, noPowerLossReason: REAL_NO_POWER_LOSS });

fsConformance({ name: 'SimDisk view (simulator)', setup: () => plain(simBase()), blocking: true });

fsConformance({ name: 'FaultyFileSystem (no faults) over NodeFileSystem', setup: () => faulty(nodeBase()), blocking: true, noPowerLossReason: REAL_NO_POWER_LOSS });

fsConformance({ name: 'FaultyFileSystem (no faults) over a SimDisk view', setup: () => faulty(simBase()), blocking: true });

fsConformance({
  name: 'ReplicatedFileSystem (two roots in sync) over NodeFileSystem',
  setup: () => replicated(nodeBase()),
  blocking: { absent: REPL_NO_BLOCKING },
  noPowerLossReason: REPL_NO_POWER_LOSS,
});

fsConformance({
  name: 'ReplicatedFileSystem (two roots in sync) over a SimDisk view',
  setup: () => replicated(simBase()),
  blocking: { absent: REPL_NO_BLOCKING },
  noPowerLossReason: REPL_NO_POWER_LOSS,
});
