/**
 * The `raw` pseudo-peer: what this disk and kernel can do, with synchronous node:fs calls
 * (no engine, no libuv thread pool hop). The yardstick's four phases.
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { latencyStats, mulberry32, round, type PhaseResult } from './workload.js';

const KIB4 = 4096;
const MIB = 1024 * 1024;

export function runRaw(dir: string, o: { seed: number; syncs: number; seqMiB: number; reads: number }, progress: (m: string) => void): PhaseResult[] {
  const results: PhaseResult[] = [];
  const rand = mulberry32(o.seed);
  const block = new Uint8Array(KIB4);
  for (let i = 0; i < block.length; i++) block[i] = (rand() * 256) | 0;
  const push = (r: PhaseResult) => {
    results.push(r);
    progress(`raw ${r.phase}: ${Math.round(r.ops_per_s).toLocaleString('en-US')} ops/s${r.p50_ms !== undefined ? ` (p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms)` : ''}${r.mb_per_s !== undefined ? `, ${r.mb_per_s} MB/s` : ''}`);
  };

  // fsync_append_4k: append 4 KiB then fsync
  {
    const fd = openSync(join(dir, 'append.dat'), 'w');
    const lat: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < o.syncs; i++) {
      const t = performance.now();
      writeSync(fd, block, 0, KIB4, i * KIB4);
      fsyncSync(fd);
      lat.push(performance.now() - t);
    }
    const s = (performance.now() - t0) / 1000;
    closeSync(fd);
    push({ peer: 'raw', phase: 'fsync_append_4k', n: o.syncs, ops: o.syncs, seconds: round(s, 4), ops_per_s: round(o.syncs / s, 1), ...latencyStats(lat) });
  }

  // fdatasync_overwrite_4k: overwrite 4 KiB in place in an allocated file, then fdatasync
  {
    const path = join(dir, 'overwrite.dat');
    const fd = openSync(path, 'w+');
    for (let i = 0; i < 16; i++) writeSync(fd, block, 0, KIB4, i * KIB4);
    fsyncSync(fd);
    const lat: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < o.syncs; i++) {
      const t = performance.now();
      writeSync(fd, block, 0, KIB4, (i % 16) * KIB4);
      fdatasyncSync(fd);
      lat.push(performance.now() - t);
    }
    const s = (performance.now() - t0) / 1000;
    closeSync(fd);
    push({ peer: 'raw', phase: 'fdatasync_overwrite_4k', n: o.syncs, ops: o.syncs, seconds: round(s, 4), ops_per_s: round(o.syncs / s, 1), ...latencyStats(lat) });
  }

  // seq_write: seqMiB x 1 MiB writes, one fsync at the end
  const big = join(dir, 'seq.dat');
  {
    const chunk = new Uint8Array(MIB);
    for (let i = 0; i < chunk.length; i += KIB4) chunk.set(block, i);
    const fd = openSync(big, 'w');
    const t0 = performance.now();
    for (let i = 0; i < o.seqMiB; i++) writeSync(fd, chunk, 0, MIB, i * MIB);
    fsyncSync(fd);
    const s = (performance.now() - t0) / 1000;
    closeSync(fd);
    push({
      peer: 'raw', phase: 'seq_write', n: o.seqMiB, ops: o.seqMiB, seconds: round(s, 4), ops_per_s: round(o.seqMiB / s, 1),
      bytes: o.seqMiB * MIB, mb_per_s: round((o.seqMiB * MIB) / s / 1e6, 1),
    });
  }

  // rand_read_4k: random aligned 4 KiB preads from that file (page cache warm)
  {
    const fd = openSync(big, 'r');
    const buf = new Uint8Array(KIB4);
    const blocks = (o.seqMiB * MIB) / KIB4;
    for (let i = 0; i < blocks; i += 1) readSync(fd, buf, 0, KIB4, i * KIB4); // warm
    const offsets = new Float64Array(o.reads);
    for (let i = 0; i < o.reads; i++) offsets[i] = Math.floor(rand() * blocks) * KIB4;
    const t0 = performance.now();
    for (let i = 0; i < o.reads; i++) readSync(fd, buf, 0, KIB4, offsets[i]!);
    const s = (performance.now() - t0) / 1000;
    closeSync(fd);
    push({ peer: 'raw', phase: 'rand_read_4k', n: o.reads, ops: o.reads, seconds: round(s, 4), ops_per_s: round(o.reads / s, 1), us_per_op: round((s * 1e6) / o.reads, 3) });
  }
  return results;
}
