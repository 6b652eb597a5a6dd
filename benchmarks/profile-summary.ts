/**
 * Top self-time functions of V8 .cpuprofile files (from `npm run bench -- --profile DIR`, or
 * `node --cpu-prof`).
 *
 *   npx tsx benchmarks/profile-summary.ts FILE.cpuprofile... [--top 20] [--by-file]
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

const argv = process.argv.slice(2);
const topIdx = argv.indexOf('--top');
const top = topIdx >= 0 ? Number(argv[topIdx + 1]) : 20;
const byFile = argv.includes('--by-file');
const files = argv.filter((a, i) => a.endsWith('.cpuprofile') && argv[i - 1] !== '--top');
if (files.length === 0) {
  process.stderr.write('usage: npx tsx benchmarks/profile-summary.ts FILE.cpuprofile... [--top 20] [--by-file]\n');
  process.exit(2);
}

function where(frame: CallFrame): string {
  let url = frame.url;
  if (url.startsWith('file://')) {
    try {
      url = relative(process.cwd(), fileURLToPath(url));
    } catch {
      /* keep the URL */
    }
  }
  if (!url) return '(native/V8)';
  return url;
}

/**
 * tsx runs a transformed one-line module, so V8's line numbers are useless: find where the
 * function is defined in the source instead (first definition-looking line with that name).
 */
const sources = new Map<string, string[]>();
function lineOf(frame: CallFrame): string {
  if (!frame.url.startsWith('file://') || !frame.functionName) return '';
  if (frame.lineNumber > 0) return `:${frame.lineNumber + 1}`;
  const path = fileURLToPath(frame.url);
  let lines = sources.get(path);
  if (!lines) {
    lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n') : [];
    sources.set(path, lines);
  }
  const name = frame.functionName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const def = new RegExp(
    `^\\s*(?:export\\s+)?(?:default\\s+)?(?:(?:static|private|public|protected|readonly|async|get|set)\\s+)*(?:function\\s*\\*?\\s*|class\\s+|\\*\\s*)?${name}\\s*(?:[(<]|=|extends|implements|\\{)`,
  );
  const alt = new RegExp(`\\b(?:const|let|var)\\s+${name}\\s*=|\\b${name}\\s*[:=]\\s*(?:async\\s*)?(?:\\(|function)`);
  let i = lines.findIndex((l) => def.test(l));
  if (i < 0) i = lines.findIndex((l) => alt.test(l));
  return i >= 0 ? `:${i + 1}` : '';
}

for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  // Self time per node from samples and time deltas (hitCount is a fallback).
  const self = new Map<number, number>();
  if (p.samples && p.timeDeltas) {
    for (let i = 0; i < p.samples.length; i++) {
      const dt = p.timeDeltas[i + 1] ?? 0;
      self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + Math.max(0, dt));
    }
  } else {
    const interval = (p.endTime - p.startTime) / Math.max(1, p.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0));
    for (const n of p.nodes) self.set(n.id, (n.hitCount ?? 0) * interval);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const groups = new Map<string, number>();
  for (const n of p.nodes) {
    const t = self.get(n.id) ?? 0;
    if (t === 0) continue;
    const f = n.callFrame;
    const key = byFile ? where(f) : `${where(f)}:${f.functionName || '(anonymous)'}${lineOf(f)}`;
    groups.set(key, (groups.get(key) ?? 0) + t);
  }
  const rows = [...groups.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  process.stdout.write(`\n${basename(file)}: ${(total / 1e6).toFixed(2)} s sampled (wall ${((p.endTime - p.startTime) / 1e6).toFixed(2)} s)\n`);
  process.stdout.write('  self %   self ms  function (file:name:line)\n');
  for (const [key, t] of rows) process.stdout.write(`  ${((100 * t) / total).toFixed(1).padStart(6)}  ${(t / 1000).toFixed(0).padStart(8)}  ${key}\n`);
}
