/**
 * Peers of the retrieval benchmarks (hnswlib-node, usearch, minisearch, wink-bm25-text-search),
 * installed on first use into benchmarks/layers/vector-peers with `npm install`, never by the
 * root `npm ci` (as benchmarks/run.ts does for its peers). A peer that cannot be installed or
 * loaded is reported and skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const DIR = join(import.meta.dirname, 'vector-peers');
const log = (m: string) => process.stderr.write(`${m}\n`);

function installed(name: string): boolean {
  return existsSync(join(DIR, 'node_modules', name, 'package.json'));
}

/** Installs the missing peers among `names` (unless `install` is false); returns those that load. */
export function loadPeers(names: readonly string[], install = true): Map<string, unknown> {
  const missing = names.filter((n) => !installed(n));
  if (missing.length > 0 && install) {
    log(`bench: installing peers in ${DIR} (${missing.join(', ')}): npm install; hnswlib-node compiles for about a minute...`);
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: DIR, stdio: ['ignore', 'inherit', 'inherit'], shell: process.platform === 'win32' });
    log(`bench: npm install exited with ${r.status ?? r.signal}`);
  }
  const require = createRequire(join(DIR, 'package.json'));
  const loaded = new Map<string, unknown>();
  for (const name of names) {
    try {
      loaded.set(name, require(name));
    } catch (error) {
      log(`bench: peer ${name} is not available (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); continuing without it`);
    }
  }
  return loaded;
}

export function peerVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(DIR, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}
