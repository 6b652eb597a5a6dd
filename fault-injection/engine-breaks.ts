/**
 * Deliberate bugs, applied from outside `src/`, to prove the checkers have teeth: each must
 * make the simulator report a violation within the CI seed budget (tests/sim/breaks.test.ts).
 * A break either patches a prototype (`apply` returns the undo) or wraps the node's FileSystem.
 */
import type { FileHandle, FileSystem, OpenMode } from '../src/ports/file-system.js';
import { BTree } from '../src/btree/btree.js';
import { TreeSession } from '../src/txn/tree-session.js';

export interface EngineBreak {
  readonly describe: string;
  readonly apply?: () => () => void;
  readonly wrapFs?: (fs: FileSystem) => FileSystem;
}

export const BREAKS = {
  /** Removes the fsync of the priority log, the last one before the registry flip. */
  'no-plg-fsync': {
    describe: 'the priority log is not synced before the registry flip',
    wrapFs: (fs: FileSystem) => wrapHandles(fs, /\.plg$/, { datasync: true, sync: true }),
  },
  /** Commit-time validation believes every read is current. */
  'no-version-check': {
    describe: 'commit skips the read-set version check',
    apply: () => patch(TreeSession.prototype, 'isStale', () => () => false),
  },
  /** Sectors are overwritten without a durable before-image. */
  'no-cow-image': {
    describe: 'registry sectors are overwritten without their copy-on-write before-image',
    wrapFs: (fs: FileSystem) => wrapHandles(fs, /\.cow$/, { write: true, datasync: true, sync: true }),
  },
  /**
   * The merge (a commit replayed onto nodes another commit changed, TX-5) drops its removals:
   * the removed item stays. Every seed used to pass this, since no workload removed anything.
   */
  'merge-drops-removes': {
    describe: 'a merged commit keeps the items it removed',
    apply: () =>
      patch(BTree.prototype, 'removeCurrent', (original) =>
        async function (this: BTree) {
          if (new Error().stack?.includes('replay')) return;
          return original.call(this);
        },
      ),
  },
} satisfies Record<string, EngineBreak>;

export type BreakName = keyof typeof BREAKS;

function patch<T extends object, K extends keyof T>(target: T, key: K, make: (original: T[K]) => T[K]): () => void {
  const original = target[key];
  target[key] = make(original);
  return () => {
    target[key] = original;
  };
}

/** A FileSystem whose handles on matching files silently skip the listed calls (a lying disk). */
function wrapHandles(fs: FileSystem, pattern: RegExp, skip: Partial<Record<'write' | 'datasync' | 'sync', true>>): FileSystem {
  return new Proxy(fs, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'open') return typeof value === 'function' ? value.bind(target) : value;
      return async (path: string, mode: OpenMode): Promise<FileHandle> => {
        const handle = await target.open(path, mode);
        if (!pattern.test(path)) return handle;
        return new Proxy(handle, {
          get(h, p, r) {
            if (typeof p === 'string' && p in skip) return async () => undefined;
            const member = Reflect.get(h, p, r);
            return typeof member === 'function' ? member.bind(h) : member;
          },
        });
      };
    },
  });
}
