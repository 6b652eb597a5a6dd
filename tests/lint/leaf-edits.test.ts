/**
 * A transaction's copy of a leaf keeps, beside its items, where each came from (btree/leaf-edits.ts):
 * the journal logs the leaf as item changes from it (spec JNL-1). An edit of the items that goes
 * around leaf-edits.ts would leave that mapping stale and the logged change wrong, so no source file
 * may edit an items array itself. src/codec/ only builds new arrays (decode, replay), which no
 * mapping follows.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const EDIT = /\bitems\b(\.|\?\.)(splice|push|pop|shift|unshift|sort|reverse|fill|copyWithin)\(|\bitems\[[^\]]+\]\s*=[^=]|\bitems\.length\s*=[^=]/;

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (name.endsWith('.ts')) yield path;
  }
}

function offenders(): string[] {
  const found: string[] = [];
  for (const file of sources(SRC)) {
    const name = relative(SRC, file);
    if (name === 'btree/leaf-edits.ts' || name.startsWith('codec/')) continue;
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => EDIT.test(line) && found.push(`${name}:${i + 1}: ${line.trim()}`));
  }
  return found;
}

describe('leaf items are edited only through btree/leaf-edits.ts (JNL-1)', () => {
  it('no other source file splices, pushes into or assigns an element of an items array', () => {
    assert.deepEqual(offenders(), []);
  });

  it('the check finds such an edit (it is not vacuous)', () => {
    assert.ok(EDIT.test('    leaf.items.splice(last.index, 0, item);'));
    assert.ok(EDIT.test('    mutable.items[frame.index] = item;'));
    assert.ok(!EDIT.test('    if (mutable.items[frame.index] === item) return;'));
  });
});
