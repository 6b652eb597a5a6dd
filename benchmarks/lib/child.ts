/**
 * One peer in its own process (spawned by benchmarks/run.ts with --expose-gc):
 *   node --expose-gc --import tsx benchmarks/lib/child.ts --peer NAME --dir DIR [--n ...]
 * Writes one `@@bench {json}` line per result on stdout; progress on stderr.
 */
import { mkdirSync, readdirSync, lstatSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { runRaw } from './raw.js';
import { sopAdapter } from './sop-adapter.js';
import { PHASES, generate, runWorkload, type Adapter, type Phase, type PhaseResult } from './workload.js';

const HERE = import.meta.dirname;
export const PEER_ADAPTERS: Record<string, string> = {
  'better-sqlite3': resolve(HERE, '../peers/adapters/better-sqlite3.mjs'),
  lmdb: resolve(HERE, '../peers/adapters/lmdb.mjs'),
  'classic-level': resolve(HERE, '../peers/adapters/classic-level.mjs'),
};

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function emit(record: object): void {
  process.stdout.write(`@@bench ${JSON.stringify(record)}\n`);
}

function progress(message: string): void {
  process.stderr.write(`  ${message}\n`);
}

/** Space allocated on disk under `dir` (st_blocks), like `du`. */
function dirBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    total += st.blocks * 512;
    if (st.isDirectory()) total += dirBytes(p);
  }
  return total;
}

async function loadAdapter(peer: string): Promise<Adapter> {
  if (peer === 'sop-ts' || peer.startsWith('sop-ts-journal')) {
    const cache = arg('node-cache');
    const journal = peer === 'sop-ts-journal-blocking' ? 'blocking' : peer === 'sop-ts-journal' ? 'async' : undefined;
    return sopAdapter({ ...(cache ? { nodeCacheSize: Number(cache) } : {}), journal });
  }
  const file = PEER_ADAPTERS[peer] ?? arg('adapter');
  if (!file) throw new Error(`unknown peer ${peer}`);
  const mod = (await import(pathToFileURL(file).href)) as { default: Adapter };
  return mod.default;
}

async function main(): Promise<void> {
  const peer = arg('peer')!;
  const dir = arg('dir')!;
  const seed = Number(arg('seed', '1'));
  mkdirSync(dir, { recursive: true });

  if (peer === 'raw') {
    const seqMiB = Number(arg('seq-mib', '256'));
    const results = runRaw(dir, { seed, syncs: Number(arg('syncs', '1000')), seqMiB, reads: Number(arg('raw-reads', '200000')) }, progress);
    emit({ type: 'info', peer, info: { settings: 'synchronous node:fs calls (writeSync/fsyncSync/fdatasyncSync/readSync)' } });
    for (const r of results) emit({ type: 'result', ...r });
    return;
  }

  const n = Number(arg('n', '100000'));
  const phases = new Set((arg('phases') ?? PHASES.join(',')).split(',') as Phase[]);
  const o = {
    n, seed, phases,
    valueSize: Number(arg('value', '100')),
    txn: Number(arg('txn', '1000')),
    commits: Number(arg('commits', '1000')),
    checks: !process.argv.includes('--no-checks'),
    insertBudgetS: arg('insert-budget') !== undefined ? Number(arg('insert-budget')) : undefined,
  };
  const adapter = await loadAdapter(peer);
  const info = (await adapter.info?.()) ?? {};
  emit({ type: 'info', peer, info });
  progress(`${peer}: ${Object.values(info).join('; ')}`);

  const profileDir = arg('profile');
  let session: Session | null = null;
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 250 });
  }
  const profiled = new Set((arg('profile-phases') ?? 'insert,read').split(','));

  const t0 = performance.now();
  const data = generate(o);
  progress(`${peer}: generated n=${n} in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  await runWorkload(adapter, dir, o, data, {
    progress,
    result: (r: PhaseResult) => emit({ type: 'result', ...r }),
    dirBytes: () => dirBytes(dir),
    beforePhase: async (phase) => {
      if (session && profiled.has(phase)) await session.post('Profiler.start');
    },
    afterPhase: async (phase) => {
      if (session && profiled.has(phase)) {
        const { profile } = await session.post('Profiler.stop');
        const file = join(profileDir!, `${peer}-${phase}-n${n}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        progress(`${peer} ${phase}: profile written to ${file}`);
      }
    },
  });
  session?.disconnect();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    emit({ type: 'error', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    process.stderr.write(`  ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
