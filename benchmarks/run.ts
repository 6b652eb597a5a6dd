/**
 * `npm run bench`: the seeded peer workload (shared/notes/perf-peers.md) on sop-ts and its peers,
 * each in its own child process, one after another, plus the `raw` disk limits. Writes
 * benchmarks/results/<timestamp>.jsonl, latest.jsonl, latest.md and latest.svg.
 *
 *   npx tsx benchmarks/run.ts [--n 100000] [--peers raw,sop-ts,sop-ts-journal,sop-ts-journal-blocking,better-sqlite3,lmdb,classic-level]
 *     [--out DIR] [--smoke] [--seed 1] [--sweep 10000,100000,1000000] [--commits 1000]
 *     [--txn 1000] [--value 100] [--tmp DIR] [--timeout SECONDS] [--sweep-budget SECONDS]
 *     [--profile DIR] [--profile-phases insert,read] [--no-install]
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { renderMarkdown, renderSvg, type RunMeta } from './lib/report.js';
import type { PhaseResult } from './lib/workload.js';

const HERE = import.meta.dirname;
const ROOT = resolve(HERE, '..');
const PEERS_DIR = join(HERE, 'peers');
const CHILD = join(HERE, 'lib', 'child.ts');
const ALL_PEERS = ['raw', 'sop-ts', 'sop-ts-journal', 'sop-ts-journal-blocking', 'better-sqlite3', 'lmdb', 'classic-level'];
/** The ways sop-ts commits: in place (`journal: false`), journal mode (the standalone default), journal mode with blocking appends. */
const SOP_PEERS = ['sop-ts', 'sop-ts-journal', 'sop-ts-journal-blocking'];
const NPM_PEERS = new Set(['better-sqlite3', 'lmdb', 'classic-level']);

// ---------------------------------------------------------------------------------------------
// Flags

const argv = process.argv.slice(2);
function flag(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) fail(`--${name} needs a value`);
  return v;
}
function has(name: string): boolean {
  return argv.includes(`--${name}`);
}
function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}
function int(name: string, fallback: number): number {
  const v = flag(name);
  if (v === undefined) return fallback;
  const x = Number(v.replace(/_/g, ''));
  if (!Number.isInteger(x) || x < 0) fail(`--${name} must be a non-negative integer, got ${v}`);
  return x;
}

if (has('help') || has('h')) {
  process.stdout.write(
    [
      'npm run bench -- [options]',
      '  --n N              items (default 100000; --smoke: 2000)',
      `  --peers LIST       comma-separated subset of ${ALL_PEERS.join(',')} (default: all)`,
      '  --out DIR          results directory (default benchmarks/results; --smoke: benchmarks/results/smoke)',
      '  --smoke            n=2000, commits=100, raw phases shortened; peers only if already installed',
      '  --seed S           PRNG seed (default 1)',
      '  --sweep LIST       also measure the sop-ts insert rate at each n, e.g. 10000,100000,1000000',
      '  --commits C        single-item durable commits (default 1000)',
      '  --txn T            items per write transaction (default 1000)',
      '  --value B          value size in bytes (default 100)',
      '  --tmp DIR          where the data directories go (default: the OS temp dir)',
      '  --timeout S        per child process, seconds (default 900); partial results are kept',
      '  --sweep-budget S   stop each sweep insert after S seconds and report the partial rate (default 300)',
      '  --profile DIR      write V8 CPU profiles of sop-ts phases to DIR (summarize: benchmarks/profile-summary.ts)',
      '  --profile-phases L phases to profile (default insert,read)',
      '  --no-install       never run npm install for the peers',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

const smoke = has('smoke');
const n = int('n', smoke ? 2000 : 100_000);
const commits = int('commits', smoke ? 100 : 1000);
const txn = int('txn', 1000);
const valueSize = int('value', 100);
const seed = int('seed', 1);
const timeoutS = int('timeout', 900);
const sweepBudgetS = int('sweep-budget', 300);
const profilePhases = flag('profile-phases');
// A smoke run must not replace the committed latest.* of a real run.
const outDir = resolve(flag('out') ?? join(HERE, 'results', ...(smoke ? ['smoke'] : [])));
const tmpBase = resolve(flag('tmp') ?? tmpdir());
const profileDir = flag('profile') ? resolve(flag('profile')!) : undefined;
const sweep = (flag('sweep') ?? '')
  .split(',')
  .filter(Boolean)
  .map((s) => {
    const x = Number(s.replace(/_/g, ''));
    if (!Number.isInteger(x) || x < 1) fail(`--sweep: bad size ${s}`);
    return x;
  });
const peers = (flag('peers') ?? ALL_PEERS.join(',')).split(',').filter(Boolean);
for (const p of peers) if (!ALL_PEERS.includes(p)) fail(`unknown peer ${p} (known: ${ALL_PEERS.join(', ')})`);
if (n < 10) fail('--n must be at least 10');
if (txn < 1) fail('--txn must be at least 1');

const log = (m: string) => process.stderr.write(`${m}\n`);

// ---------------------------------------------------------------------------------------------
// Peers: installed on demand in benchmarks/peers (never by the root npm ci)

function installed(peer: string): boolean {
  return existsSync(join(PEERS_DIR, 'node_modules', peer, 'package.json'));
}

function skipHint(without: string): string {
  const rest = peers.filter((p) => p !== without);
  return `to skip it: npm run bench -- --peers ${rest.join(',')}`;
}

function ensurePeers(): Set<string> {
  const wanted = peers.filter((p) => NPM_PEERS.has(p));
  const missing = wanted.filter((p) => !installed(p));
  if (missing.length === 0) return new Set();
  if (smoke || has('no-install')) {
    log(`bench: peers not installed (${missing.join(', ')}); ${smoke ? '--smoke' : '--no-install'} skips installing them.`);
    log(`       install them with \`npm install\` in benchmarks/peers (or run \`npm run bench\` once).`);
    return new Set(missing);
  }
  log(`bench: installing peers in benchmarks/peers (${missing.join(', ')}): npm install; compiling better-sqlite3 takes about a minute...`);
  const t0 = performance.now();
  // `npm install`, not `npm ci`: the generated lock lacks the non-Linux optional packages (perf-peers.md).
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--strict-allow-scripts'], {
    cwd: PEERS_DIR,
    stdio: ['ignore', 'inherit', 'inherit'],
    shell: process.platform === 'win32',
  });
  log(`bench: npm install exited with ${r.status ?? r.signal} after ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const still = wanted.filter((p) => !installed(p));
  for (const p of still) log(`bench: peer ${p} is not available after npm install; continuing without it (${skipHint(p)})`);
  return new Set(still);
}

// ---------------------------------------------------------------------------------------------
// Children

interface ChildOutcome {
  results: PhaseResult[];
  info: Record<string, unknown> | null;
  error: string | null;
}

const workRoot = mkdtempSync(join(tmpBase, 'sop-bench-'));
let cleaned = false;
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  rmSync(workRoot, { recursive: true, force: true });
}
let current: ReturnType<typeof spawn> | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    current?.kill('SIGKILL');
    cleanup();
    process.exit(130);
  });
}
process.on('exit', cleanup);

function runChild(peer: string, args: string[], label = peer): Promise<ChildOutcome> {
  const dir = join(workRoot, label);
  const nodeArgs = ['--expose-gc', '--import', 'tsx', CHILD, '--peer', peer, '--dir', dir, '--seed', String(seed), ...args];
  return new Promise((done) => {
    const out: ChildOutcome = { results: [], info: null, error: null };
    const child = spawn(process.execPath, nodeArgs, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    current = child;
    const timer = setTimeout(() => {
      out.error = `timed out after ${timeoutS} s (raise it with --timeout)`;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    let buffered = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!line.startsWith('@@bench ')) {
          if (line.trim()) log(`  [${peer} stdout] ${line}`);
          continue;
        }
        const rec = JSON.parse(line.slice(8)) as { type: string } & Record<string, unknown>;
        if (rec.type === 'result') {
          const { type: _t, ...r } = rec;
          void _t;
          out.results.push(r as unknown as PhaseResult);
        } else if (rec.type === 'info') out.info = rec.info as Record<string, unknown>;
        else if (rec.type === 'error') out.error = String(rec.message).split('\n').slice(0, 3).join(' ');
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = null;
      if (code !== 0 && !out.error) out.error = `exited with ${code ?? signal}`;
      rmSync(dir, { recursive: true, force: true });
      done(out);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const started = new Date();
  const cpu = cpus();
  const meta: RunMeta = {
    started: started.toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu: `${cpu.length} × ${cpu[0]?.model ?? '?'}`,
    memGiB: Math.round(totalmem() / 2 ** 30),
    n, txn, valueSize, commits, seed, smoke,
    peers: {},
    errors: {},
    sweep,
    loadStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
  log(`bench: n=${n} value=${valueSize} B txn=${txn} commits=${commits} seed=${seed}; peers ${peers.join(', ')}; ${meta.cpu}, ${meta.memGiB} GiB, node ${meta.node}, load ${meta.loadStart.join(' ')}`);
  log(`bench: data under ${workRoot}`);

  const unavailable = peers.some((p) => NPM_PEERS.has(p)) ? ensurePeers() : new Set<string>();
  const results: PhaseResult[] = [];
  const common = ['--n', String(n), '--txn', String(txn), '--value', String(valueSize), '--commits', String(commits)];

  for (const peer of peers) {
    if (unavailable.has(peer)) {
      meta.errors[peer] = 'not installed';
      continue;
    }
    const t0 = performance.now();
    log(`bench: ${peer} ...`);
    const args =
      peer === 'raw'
        ? smoke
          ? ['--syncs', '200', '--seq-mib', '32', '--raw-reads', '20000']
          : []
        : [...common, ...(SOP_PEERS.includes(peer) && profileDir ? ['--profile', profileDir, ...(profilePhases ? ['--profile-phases', profilePhases] : [])] : [])];
    const r = await runChild(peer, args);
    results.push(...r.results);
    if (r.info) meta.peers[peer] = r.info;
    if (r.error) {
      meta.errors[peer] = r.error;
      log(`bench: ${peer} failed: ${r.error}`);
      log(`bench: continuing without it (${skipHint(peer)})`);
    }
    log(`bench: ${peer} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  for (const [peer, size] of SOP_PEERS.filter((p) => peers.includes(p)).flatMap((p) => sweep.map((n) => [p, n] as const))) {
    const t0 = performance.now();
    log(`bench: sweep ${peer} insert n=${size} ...`);
    const r = await runChild(peer, ['--n', String(size), '--txn', String(txn), '--value', String(valueSize), '--phases', 'insert', '--no-checks', '--insert-budget', String(sweepBudgetS)], `sweep-${peer}-${size}`);
    for (const x of r.results) results.push({ ...x, phase: 'sweep_insert' });
    if (r.error) {
      meta.errors[`sweep ${peer} n=${size}`] = r.error;
      log(`bench: sweep n=${size} failed: ${r.error}`);
    }
    log(`bench: sweep n=${size} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  meta.loadEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  mkdirSync(outDir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const jsonl = results.map((r) => JSON.stringify({ run: meta.started, seed, ...r })).join('\n') + '\n';
  const stampedFile = join(outDir, `${stamp}.jsonl`);
  writeFileSync(stampedFile, jsonl);
  copyFileSync(stampedFile, join(outDir, 'latest.jsonl'));
  writeFileSync(join(outDir, 'latest.md'), renderMarkdown(results, meta));
  writeFileSync(join(outDir, 'latest.svg'), renderSvg(results, meta));
  const rel = (p: string) => relative(process.cwd(), p) || '.';
  log(`bench: wrote ${rel(stampedFile)}, ${rel(join(outDir, 'latest.md'))}, ${rel(join(outDir, 'latest.svg'))}`);
  if (profileDir) log(`bench: CPU profiles in ${rel(profileDir)} (summarize: npx tsx benchmarks/profile-summary.ts ${rel(profileDir)}/*.cpuprofile)`);
  process.stdout.write(renderMarkdown(results, meta, { brief: true }));
  const failed = Object.keys(meta.errors).filter((k) => SOP_PEERS.includes(k) || k.startsWith('sweep'));
  process.exitCode = failed.length > 0 ? 1 : 0;
}

main().catch((error: unknown) => {
  log(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  cleanup();
  process.exit(1);
});
