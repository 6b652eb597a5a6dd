/** latest.md and latest.svg of `npm run bench`, from the per-phase results of one run. */
import { fmtRate, type PhaseResult } from './workload.js';

export interface RunMeta {
  started: string;
  node: string;
  platform: string;
  cpu: string;
  memGiB: number;
  n: number;
  txn: number;
  valueSize: number;
  commits: number;
  seed: number;
  smoke: boolean;
  peers: Record<string, Record<string, unknown>>;
  errors: Record<string, string>;
  sweep: number[];
  /** 1/5/15-minute load averages when the run started and ended (other work on the machine skews results). */
  loadStart: number[];
  loadEnd?: number[];
}

export const WORKLOAD_PHASES = ['insert', 'read', 'scan', 'update', 'delete', 'commit'] as const;
const ENGINES = ['sop-ts', 'sop-ts-journal', 'sop-ts-journal-blocking', 'better-sqlite3', 'lmdb', 'classic-level'];
/** sop-ts in its commit modes: in place (`journal: false`), journal mode (the standalone default, spec JNL-1..JNL-4), and journal mode with blocking appends. */
const SOPS = ['sop-ts', 'sop-ts-journal', 'sop-ts-journal-blocking'];
const SOP = 'sop-ts';

const int = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : Math.round(x).toLocaleString('en-US'));
const ms = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x < 10 ? x.toFixed(3) : x.toFixed(1));
const ratio = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`);

function find(results: PhaseResult[], peer: string, phase: string): PhaseResult | undefined {
  return results.find((r) => r.peer === peer && r.phase === phase);
}

interface Target {
  what: string;
  goal: string;
  measured: string;
  met: boolean | null;
}

export function targets(results: PhaseResult[], meta: RunMeta, SOP = 'sop-ts'): Target[] {
  const out: Target[] = [];
  const vs = (phase: string, peer: string, min: number) => {
    const a = find(results, SOP, phase)?.ops_per_s;
    const b = find(results, peer, phase)?.ops_per_s;
    const r = a !== undefined && b !== undefined ? a / b : undefined;
    out.push({
      what: `${phase} vs ${peer}`,
      goal: `≥ ${min.toFixed(1)}×`,
      measured: r === undefined ? 'not measured' : `${ratio(r)} (${fmtRate(a!)} vs ${fmtRate(b!)} ops/s)`,
      met: r === undefined ? null : r >= min,
    });
  };
  vs('insert', 'better-sqlite3', 1);
  vs('update', 'better-sqlite3', 1);
  vs('delete', 'better-sqlite3', 1);
  vs('read', 'lmdb', 1);
  vs('scan', 'lmdb', 1);
  vs('commit', 'better-sqlite3', 0.5);
  const c = find(results, SOP, 'commit');
  out.push({ what: 'single-item commit p99', goal: '≤ 1 ms', measured: c?.p99_ms === undefined ? 'not measured' : `${ms(c.p99_ms)} ms`, met: c?.p99_ms === undefined ? null : c.p99_ms <= 1 });
  out.push({
    what: 'syncs per single-item commit',
    goal: '≤ 2',
    measured: c?.fsyncs_per_commit === undefined ? 'not measured' : String(c.fsyncs_per_commit),
    met: c?.fsyncs_per_commit === undefined ? null : c.fsyncs_per_commit <= 2,
  });
  const sweepAt = (size: number) =>
    results.find((r) => r.peer === SOP && r.phase === 'sweep_insert' && r.n === size) ?? (meta.n === size ? find(results, SOP, 'insert') : undefined);
  const big = sweepAt(1_000_000);
  const base = sweepAt(100_000);
  const r = big && base && !base.partial ? big.ops_per_s / base.ops_per_s : undefined;
  let measured: string;
  let met: boolean | null;
  if (r === undefined) {
    measured = `not measured${big ? '' : ' (run with --sweep 100000,1000000)'}`;
    met = null;
  } else if (big!.partial) {
    // A partial fill only overestimates the full 1M rate (the tree is smaller), so < 0.8× is conclusive.
    measured = `did not finish in the sweep budget: ${int(big!.ops)} items at ${fmtRate(big!.ops_per_s)} ops/s = ${ratio(r)} of ${fmtRate(base!.ops_per_s)} (an upper bound)`;
    met = r < 0.8 ? false : null;
  } else {
    measured = `${ratio(r)} (${fmtRate(big!.ops_per_s)} vs ${fmtRate(base!.ops_per_s)} ops/s)`;
    met = r >= 0.8;
  }
  out.push({ what: '1M-item insert rate vs 100k', goal: '≥ 0.8×', measured, met });
  return out;
}

export function renderMarkdown(results: PhaseResult[], meta: RunMeta, options: { brief?: boolean } = {}): string {
  const L: string[] = [];
  const engines = ENGINES.filter((e) => results.some((r) => r.peer === e));
  const head = (cols: string[], align: string[]) => {
    L.push(`| ${cols.join(' | ')} |`);
    L.push(`|${align.join('|')}|`);
  };

  if (!options.brief) {
    L.push('# sop-ts benchmark: peers and the physical limit', '');
    L.push(`Run ${meta.started}${meta.smoke ? ' (**smoke**: too small to compare, checks the harness only)' : ''}: ` +
      `${meta.cpu}, ${meta.memGiB} GiB RAM, node ${meta.node}, ${meta.platform}; load average ${meta.loadStart.join(' ')} at start, ${meta.loadEnd?.join(' ') ?? '?'} at end.`);
    L.push(`Workload: N = ${int(meta.n)} items, 16-byte keys, ${meta.valueSize}-byte values (mulberry32 seed ${meta.seed}), ` +
      `write transactions of ${int(meta.txn)}, ${int(meta.commits)} single-item commits. Every commit is durable. ` +
      'Generated by `npm run bench` (see benchmarks/README.md); one noisy run: treat differences under ~20% as noise.', '');
  }

  L.push(options.brief ? '\nops/s per phase (commit latency in ms):\n' : '## ops/s per phase\n');
  head(['engine', ...WORKLOAD_PHASES, 'commit p50 ms', 'commit p99 ms', 'insert txn p50 ms'], ['---', ...WORKLOAD_PHASES.map(() => '---:'), '---:', '---:', '---:']);
  for (const e of engines) {
    const c = find(results, e, 'commit');
    L.push(`| ${e} | ${WORKLOAD_PHASES.map((p) => int(find(results, e, p)?.ops_per_s)).join(' | ')} | ${ms(c?.p50_ms)} | ${ms(c?.p99_ms)} | ${ms(find(results, e, 'insert')?.p50_ms)} |`);
  }
  L.push('');

  const sops = SOPS.filter((e) => engines.includes(e));
  const others = engines.filter((e) => !SOPS.includes(e));
  if (sops.length > 0 && others.length > 0) {
    L.push(options.brief ? 'sop-ts ÷ peer (same run):\n' : '## sop-ts ÷ peer (same run; > 1× means sop-ts is faster)\n');
    head(['sop-ts mode ÷ peer', ...WORKLOAD_PHASES], ['---', ...WORKLOAD_PHASES.map(() => '---:')]);
    for (const sop of sops) {
      for (const e of others) {
        L.push(`| ${sop} ÷ ${e} | ${WORKLOAD_PHASES.map((p) => {
          const a = find(results, sop, p)?.ops_per_s;
          const b = find(results, e, p)?.ops_per_s;
          return a !== undefined && b !== undefined ? ratio(a / b) : '–';
        }).join(' | ')} |`);
      }
    }
    L.push('');
  }

  L.push(options.brief ? 'targets:\n' : '## Targets (from the benchmark issue)\n');
  head(['engine', 'target', 'goal', 'measured', 'met'], ['---', '---', '---', '---', '---']);
  for (const sop of sops.length > 0 ? sops : [SOP]) {
    for (const t of targets(results, meta, sop)) L.push(`| ${sop} | ${t.what} | ${t.goal} | ${t.measured} | ${t.met === null ? '–' : t.met ? '✅ met' : '❌ not met'} |`);
  }
  L.push('');

  for (const sop of sops) sopIo(L, results, sop, head, options.brief === true);
  renderRest(L, results, meta, engines, head, options.brief === true);
  return L.join('\n') + '\n';
}

type Head = (cols: string[], align: string[]) => void;

function sopIo(L: string[], results: PhaseResult[], SOP: string, head: Head, brief: boolean): void {
  const sopRows = WORKLOAD_PHASES.map((p) => find(results, SOP, p)).filter((r): r is PhaseResult => r !== undefined && r.txns !== undefined);
  if (sopRows.length > 0) {
    L.push(brief ? `${SOP} syncs per commit (counted at the FileSystem port):\n` : `## ${SOP} I/O per commit (counted at the FileSystem port)\n`);
    head(['phase', 'commits', 'syncs/commit', 'datasync', 'fsync', 'dir fsync', 'writes', 'opens', 'unlinks', 'renames'], ['---', ...Array(9).fill('---:')]);
    for (const r of sopRows) {
      const per = (k: string) => (typeof r[k] === 'number' && r.txns ? ((r[k] as number) / r.txns).toFixed(1) : '–');
      L.push(`| ${r.phase} | ${int(r.txns)} | ${r.fsyncs_per_commit ?? '–'} | ${per('datasyncs')} | ${per('fullsyncs')} | ${per('dirsyncs')} | ${per('writes')} | ${per('opens')} | ${per('unlinks')} | ${per('renames')} |`);
    }
    L.push('');
  }
}

/** A phase's process RSS (it includes the harness's generated data, the same for every engine). */
function rss(r: PhaseResult | undefined): string {
  return typeof r?.rss_mb === 'number' ? `${int(r.rss_mb)} MB` : '–';
}

function renderRest(L: string[], results: PhaseResult[], meta: RunMeta, engines: string[], head: Head, brief: boolean): void {
  const options = { brief };
  for (const sop of SOPS) {
    const sweep = results.filter((r) => r.phase === 'sweep_insert' && r.peer === sop).sort((a, b) => a.n - b.n);
    if (sweep.length === 0) continue;
    L.push(options.brief ? `${sop} insert rate by size:\n` : `## ${sop} insert rate by size (\`--sweep\`)\n`);
    const base = sweep[0]!;
    head(['n', 'items inserted', 'insert ops/s', 'txn p50 ms', 'txn p99 ms', 'syncs/commit', 'RSS MB', 'vs smallest'], ['---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']);
    for (const r of sweep) L.push(`| ${int(r.n)} | ${int(r.ops)}${r.partial ? ' (budget reached)' : ''} | ${int(r.ops_per_s)} | ${ms(r.p50_ms)} | ${ms(r.p99_ms)} | ${r.fsyncs_per_commit ?? '–'} | ${rss(r)} | ${ratio(r.ops_per_s / base.ops_per_s)} |`);
    L.push('');
  }

  const raw = results.filter((r) => r.peer === 'raw');
  if (raw.length > 0) {
    L.push(options.brief ? 'raw disk limits:\n' : '## Raw limits of this disk (`raw` pseudo-peer)\n');
    head(['raw phase', 'ops', 'ops/s', 'p50 ms', 'p99 ms', 'throughput'], ['---', '---:', '---:', '---:', '---:', '---:']);
    for (const r of raw) {
      const tp = typeof r.mb_per_s === 'number' ? `${int(r.mb_per_s)} MB/s` : typeof r.us_per_op === 'number' ? `${r.us_per_op} µs/op` : '–';
      L.push(`| ${r.phase} | ${int(r.ops)} | ${int(r.ops_per_s)} | ${ms(r.p50_ms)} | ${ms(r.p99_ms)} | ${tp} |`);
    }
    const od = find(results, 'raw', 'fdatasync_overwrite_4k');
    for (const sop of SOPS) {
      const c = find(results, sop, 'commit');
      if (od && c) L.push('', `${sop} single-item commits/s ÷ raw fdatasync_overwrite_4k ops/s: ${ratio(c.ops_per_s / od.ops_per_s)} (disk-relative goal ≥ 0.45×).`);
    }
    L.push('');
  }

  if (!options.brief) {
    const sized = engines.map((e) => [e, find(results, e, 'insert')?.dir_bytes] as const).filter(([, b]) => typeof b === 'number');
    if (sized.length > 0) {
      L.push('## Space allocated and memory after the insert\n');
      head(['engine', 'allocated', 'raw payload', 'process RSS'], ['---', '---:', '---:', '---:']);
      const payload = meta.n * (16 + meta.valueSize);
      for (const [e, b] of sized) L.push(`| ${e} | ${(b! / 1e6).toFixed(1)} MB | ${(payload / 1e6).toFixed(1)} MB | ${rss(find(results, e, 'insert'))} |`);
      L.push('');
    }
    L.push('## Engines and settings\n');
    for (const [peer, info] of Object.entries(meta.peers)) L.push(`- **${peer}**: ${Object.values(info).join('; ')}`);
    for (const [peer, error] of Object.entries(meta.errors)) L.push(`- **${peer}**: not measured: ${error}`);
    L.push('');
  } else {
    for (const [peer, error] of Object.entries(meta.errors)) L.push(`${peer}: not measured: ${error}`);
  }
}

// ---------------------------------------------------------------------------------------------
// SVG: horizontal grouped bars, one group per phase, log-scale x axis.

const COLORS: Record<string, string> = { 'sop-ts': '#d62728', 'sop-ts-journal': '#ff7f0e', 'sop-ts-journal-blocking': '#8c564b', 'better-sqlite3': '#1f77b4', lmdb: '#2ca02c', 'classic-level': '#9467bd' };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderSvg(results: PhaseResult[], meta: RunMeta): string {
  const engines = ENGINES.filter((e) => results.some((r) => r.peer === e));
  const phases = WORKLOAD_PHASES.filter((p) => engines.some((e) => find(results, e, p)));
  const values = results.filter((r) => engines.includes(r.peer) && (phases as readonly string[]).includes(r.phase)).map((r) => r.ops_per_s).filter((v) => v > 0);
  const lo = Math.floor(Math.log10(Math.max(1, Math.min(...values, 1e6))));
  const hi = Math.ceil(Math.log10(Math.max(...values, 10)));
  const bar = 14;
  const gap = 3;
  const groupGap = 16;
  const left = 90;
  const plotW = 640;
  const right = 90;
  const top = 56;
  const groupH = engines.length * (bar + gap) - gap;
  const height = top + phases.length * (groupH + groupGap) + 40 + 18 * Math.ceil(engines.length / 4);
  const width = left + plotW + right;
  const x = (v: number) => left + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * plotW;
  const S: string[] = [];
  S.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  S.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  S.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">${esc(`ops/s per phase (log scale), N = ${meta.n.toLocaleString('en-US')}${meta.smoke ? ', smoke run' : ''}`)}</text>`);
  S.push(`<text x="${left}" y="36" fill="#555">${esc(`${meta.started} · ${meta.cpu} · node ${meta.node} · every commit durable`)}</text>`);
  const axisBottom = top + phases.length * (groupH + groupGap) - groupGap;
  for (let d = lo; d <= hi; d++) {
    const gx = x(10 ** d);
    S.push(`<line x1="${gx.toFixed(1)}" y1="${top - 6}" x2="${gx.toFixed(1)}" y2="${axisBottom}" stroke="#ddd"/>`);
    const label = d >= 6 ? `${10 ** (d - 6)}M` : d >= 3 ? `${10 ** (d - 3)}k` : String(10 ** d);
    S.push(`<text x="${gx.toFixed(1)}" y="${axisBottom + 14}" text-anchor="middle" fill="#555">${label}</text>`);
  }
  phases.forEach((phase, gi) => {
    const gy = top + gi * (groupH + groupGap);
    S.push(`<text x="${left - 8}" y="${gy + groupH / 2 + 4}" text-anchor="end" font-weight="bold">${phase}</text>`);
    engines.forEach((e, ei) => {
      const r = find(results, e, phase);
      const y = gy + ei * (bar + gap);
      if (!r || !(r.ops_per_s > 0)) return;
      const w = Math.max(1, x(r.ops_per_s) - left);
      S.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${bar}" fill="${COLORS[e] ?? '#777'}"><title>${esc(`${e} ${phase}: ${Math.round(r.ops_per_s).toLocaleString('en-US')} ops/s`)}</title></rect>`);
      S.push(`<text x="${(left + w + 4).toFixed(1)}" y="${y + bar - 3}" fill="#333">${fmtRate(r.ops_per_s)}</text>`);
    });
  });
  const ly = axisBottom + 32;
  engines.forEach((e, i) => {
    const lx = left + (i % 4) * 160;
    const yy = ly + Math.floor(i / 4) * 18;
    S.push(`<rect x="${lx}" y="${yy - 10}" width="12" height="12" fill="${COLORS[e] ?? '#777'}"/>`);
    S.push(`<text x="${lx + 16}" y="${yy}">${esc(e)}</text>`);
  });
  S.push('</svg>');
  return S.join('\n') + '\n';
}
