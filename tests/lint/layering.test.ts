/**
 * The folders of src/ form layers: imports between folders go one way (ARCHITECTURE.md). Issue
 * #14 named the cycles there were (blobs/ <-> ec/, journal/ -> txn/ against txn/ -> journal/,
 * and database/ <-> replication/ besides); this keeps them gone. One pair remains on purpose:
 * `Database` is the facade that creates the data layers, and the layers are built on its public
 * API (`layers/host.ts`), so database/ and layers/ import each other.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const ALLOWED = new Set(['database<->layers']);

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (name.endsWith('.ts')) yield path;
  }
}

function folderOf(path: string): string {
  return relative(SRC, path).split('/')[0]!;
}

/** Folder -> the folders its files import (static, dynamic and `import('…')` types), with one file that does. */
function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sources(SRC)) {
    const from = folderOf(file);
    for (const match of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
      const to = folderOf(resolve(dirname(file), match[1]!));
      if (to === from || to.endsWith('.js')) continue; // same folder, or src/index.ts
      if (!graph.has(from)) graph.set(from, new Map());
      graph.get(from)!.set(to, relative(SRC, file));
    }
  }
  return graph;
}

/** Pairs of folders reachable from each other: each names the two folders and a file on each side. */
function cycles(graph: Map<string, Map<string, string>>): string[] {
  const reach = (start: string): Set<string> => {
    const seen = new Set<string>();
    const todo = [start];
    while (todo.length > 0) for (const next of graph.get(todo.pop()!)?.keys() ?? []) if (!seen.has(next) && seen.add(next)) todo.push(next);
    return seen;
  };
  const found: string[] = [];
  const folders = [...graph.keys()].sort();
  for (const a of folders) for (const b of folders) if (a < b && reach(a).has(b) && reach(b).has(a)) found.push(`${a}<->${b}`);
  return found;
}

describe('lint: folders of src/ import one way (ARCHITECTURE.md)', () => {
  it('no two folders depend on each other, but the facade and its data layers', () => {
    const graph = folderGraph();
    assert.ok((graph.get('txn')?.size ?? 0) > 3, 'the import scan finds the engine folders');
    const unexpected = cycles(graph).filter((c) => !ALLOWED.has(c));
    assert.deepEqual(unexpected, [], `folder cycles: ${unexpected.join(', ')}`);
  });

  it('the scan sees a cycle when there is one (it can fail)', () => {
    const graph = new Map([
      ['blobs', new Map([['ec', 'blobs/blobs.ts']])],
      ['ec', new Map([['blobs', 'ec/repair.ts']])],
    ]);
    assert.deepEqual(cycles(graph), ['blobs<->ec']);
  });
});
