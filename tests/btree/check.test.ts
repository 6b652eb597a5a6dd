import { strict as assert } from 'node:assert';
import { BTree } from '../../src/btree/btree.js';
import type { BNode, Item } from '../../src/btree/node.js';
import { MemoryNodeStore } from './memory-access.js';
import { item, numberCompare, rejectsWith } from './helpers.js';

const leaf = (id: string, keys: number[]): BNode => ({ kind: 'leaf', id, items: keys.map((k) => item(k, `i${k}`)) });
const sep = (k: number) => ({ key: k, id: `i${k}` });
const internal = (id: string, keys: number[], children: string[]): BNode => ({
  kind: 'internal',
  id,
  keys: keys.map(sep),
  children,
});

function treeOf(nodes: BNode[], options: { unique?: boolean; slotLength?: number } = {}): BTree {
  const store = new MemoryNodeStore();
  store.committed.clear();
  for (const node of nodes) store.committed.set(node.id, node);
  return new BTree(store.begin(), {
    slotLength: options.slotLength ?? 3,
    unique: options.unique ?? true,
    compare: numberCompare,
  });
}

async function corruptAt(tree: BTree, nodeId: string, fragment: string): Promise<void> {
  const error = await rejectsWith(tree.check(), 'CORRUPT');
  assert.ok(error.message.includes(nodeId), `${error.message} should name ${nodeId}`);
  assert.ok(error.message.includes(fragment), `${error.message} should mention "${fragment}"`);
}

describe('BTree.check', () => {
  it('accepts a valid hand-built tree', async () => {
    const tree = treeOf([internal('root', [5], ['L', 'R']), leaf('L', [1, 3]), leaf('R', [5, 7])]);
    assert.deepEqual(await tree.check(), { count: 4, depth: 2, nodes: 3 });
  });

  it('rejects entries out of order', async () => {
    await corruptAt(treeOf([leaf('root', [2, 1])]), 'root', 'out of order');
  });

  it('rejects entries outside their separators', async () => {
    await corruptAt(
      treeOf([internal('root', [5], ['L', 'R']), leaf('L', [1, 6]), leaf('R', [7])]),
      'L',
      'not below the next separator',
    );
    await corruptAt(
      treeOf([internal('root', [5], ['L', 'R']), leaf('L', [1]), leaf('R', [3, 7])]),
      'R',
      'below its separator',
    );
  });

  it('rejects separators out of order', async () => {
    const nodes = [internal('root', [6, 4], ['A', 'B', 'C']), leaf('A', [1]), leaf('B', [5]), leaf('C', [7])];
    await corruptAt(treeOf(nodes), 'root', 'separator');
  });

  it('rejects a children/keys mismatch, also while searching', async () => {
    const tree = treeOf([{ kind: 'internal', id: 'root', keys: [sep(5)], children: ['L'] }, leaf('L', [1])]);
    await corruptAt(tree, 'root', 'children');
    await rejectsWith(tree.find(1), 'CORRUPT');
  });

  it('rejects an empty non-root node', async () => {
    const tree = treeOf([internal('root', [5], ['L', 'R']), leaf('L', []), leaf('R', [5])]);
    await corruptAt(tree, 'L', 'empty');
    await rejectsWith(tree.first(), 'CORRUPT');
  });

  it('rejects a non-root internal node with a single child', async () => {
    const nodes = [
      internal('root', [5], ['A', 'B']),
      internal('A', [], ['L1']),
      internal('B', [7], ['L2', 'L3']),
      leaf('L1', [1]),
      leaf('L2', [5]),
      leaf('L3', [7]),
    ];
    await corruptAt(treeOf(nodes), 'A', 'single child');
  });

  it('rejects nodes over capacity', async () => {
    await corruptAt(treeOf([leaf('root', [1, 2, 3, 4])]), 'root', '4 items > 3');
    const nodes = [
      internal('root', [2, 3, 4, 5], ['A', 'B', 'C', 'D', 'E']),
      ...[1, 2, 3, 4, 5].map((k, i) => leaf('ABCDE'[i]!, [k])),
    ];
    await corruptAt(treeOf(nodes), 'root', '4 keys > 3');
  });

  it('rejects leaves at different depths', async () => {
    const nodes = [
      internal('root', [5], ['L', 'I']),
      leaf('L', [1]),
      internal('I', [7], ['L2', 'L3']),
      leaf('L2', [5]),
      leaf('L3', [7]),
    ];
    await corruptAt(treeOf(nodes), 'L2', 'depth');
  });

  it('rejects duplicate keys only in a unique tree', async () => {
    const items: Item[] = [item(1, 'a'), item(1, 'b')];
    const nodes: BNode[] = [{ kind: 'leaf', id: 'root', items }];
    await corruptAt(treeOf(nodes), 'root', 'duplicate key');
    assert.equal((await treeOf(nodes, { unique: false }).check()).count, 2);
  });

  it('rejects a node reachable twice', async () => {
    const tree = treeOf([internal('root', [5], ['L', 'L']), leaf('L', [1])]);
    await corruptAt(tree, 'L', 'reachable twice');
  });

  it('rejects a body stored under another id', async () => {
    const nodes = [internal('root', [5], ['L', 'R']), leaf('L', [1]), leaf('X', [5])];
    await rejectsWith(treeOf(nodes).check(), 'CORRUPT'); // R is missing
    const tree = treeOf(nodes);
    const store = new MemoryNodeStore();
    store.committed.clear();
    for (const n of nodes) store.committed.set(n.id, n);
    store.committed.set('R', leaf('X', [5]));
    const moved = new BTree(store.begin(), { slotLength: 3, unique: true, compare: numberCompare });
    await corruptAt(moved, 'R', 'stored body');
    await rejectsWith(tree.last(), 'CORRUPT');
  });
});
