/**
 * The removal checker (sim/sets.ts) on hand-made histories (ACID-1, ACID-3, BTREE-2): it must
 * flag a lost acknowledged put, a removed key that comes back, a half-visible commit and a value
 * nobody wrote, and accept the states concurrency allows.
 */
import assert from 'node:assert/strict';
import { type SetOp, checkSets } from '../../sim/sets.js';

const op = (index: number, kind: 'put' | 'del', keys: number[], type: SetOp['type'], invokeTime: number, completeTime: number): SetOp => ({ index, kind, keys, method: 'key', type, invokeTime, completeTime });
const state = (entries: Array<[number, string]>): Map<number, string> => new Map(entries);

describe('removal checker (ACID-1, ACID-3, BTREE-2)', () => {
  it('accepts the last acknowledged writer of each key, and absent keys after an acknowledged removal', () => {
    const ops = [op(1, 'put', [1, 2], 'ok', 0, 1), op(2, 'del', [2], 'ok', 2, 3), op(3, 'put', [3], 'fail', 4, 5)];
    assert.deepEqual(checkSets(ops, state([[1, 'op1']])), []);
  });

  it('accepts either order of two concurrent acknowledged ops', () => {
    const ops = [op(1, 'put', [1], 'ok', 0, 10), op(2, 'del', [1], 'ok', 1, 9)];
    assert.deepEqual(checkSets(ops, state([[1, 'op1']])), []);
    assert.deepEqual(checkSets(ops, state([])), []);
  });

  it('flags an acknowledged put that is gone, and an acknowledged removal that did not hold', () => {
    assert.match(checkSets([op(1, 'put', [5], 'ok', 0, 1)], state([])).join(), /key 5 is absent but acknowledged op1 put it/);
    const ops = [op(1, 'put', [5], 'ok', 0, 1), op(2, 'del', [5], 'ok', 2, 3)];
    assert.match(checkSets(ops, state([[5, 'op1']])).join(), /acknowledged op2 \(del\) began after op1 ended/);
  });

  it('flags the value of a failed op and a value nobody wrote', () => {
    assert.match(checkSets([op(1, 'put', [5], 'fail', 0, 1)], state([[5, 'op1']])).join(), /op1, which failed/);
    assert.match(checkSets([], state([[7, 'op9']])).join(), /no op wrote/);
  });

  it('flags a commit visible on one of its keys and not on another (partial commit)', () => {
    const ops = [op(1, 'put', [1, 2], 'ok', 0, 1), op(2, 'put', [1, 2], 'info', 2, 3)];
    assert.match(checkSets(ops, state([[1, 'op2'], [2, 'op1']])).join(), /op2 is visible on key 1 but not on key 2/);
  });
});
