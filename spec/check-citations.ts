/**
 * `npm run spec:check`: every invariant in spec/SPEC.md must be cited by at least one test or
 * checker, and every citation anywhere must name an invariant that exists.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const spec = readFileSync(join(root, 'spec', 'SPEC.md'), 'utf8');
const defined = new Set([...spec.matchAll(/^### ([A-Z]+-\d+) /gm)].map((m) => m[1]!));
const prefixes = [...new Set([...defined].map((id) => id.split('-')[0]!))];
const citation = new RegExp(`\\b(?:${prefixes.join('|')})-\\d+\\b`, 'g');

const checkerDirs = ['tests', 'sim', 'stress', 'fault-injection'];
const allDirs = [...checkerDirs, 'src', 'benchmarks'];

function* files(dir: string): Generator<string> {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (/\.(ts|mjs|js)$/.test(name)) yield path;
  }
}

const citedBy = new Map<string, string[]>();
const unknown: string[] = [];
for (const dir of allDirs) {
  for (const file of files(join(root, dir))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(citation)) {
      const id = match[0];
      const where = relative(root, file);
      if (!defined.has(id)) unknown.push(`${where}: cites ${id}, which spec/SPEC.md does not define`);
      else if (checkerDirs.includes(dir)) citedBy.set(id, [...new Set([...(citedBy.get(id) ?? []), where])]);
    }
  }
}

const uncited = [...defined].filter((id) => !citedBy.has(id));
for (const id of defined) console.log(`${id.padEnd(10)} ${(citedBy.get(id) ?? ['-- NOT CHECKED --']).join(', ')}`);
for (const line of unknown) console.error(line);
for (const id of uncited) console.error(`${id}: no test or checker cites it`);
console.log(`${defined.size} invariants, ${defined.size - uncited.length} checked, ${unknown.length} unknown citations`);
process.exit(uncited.length > 0 || unknown.length > 0 ? 1 : 0);
