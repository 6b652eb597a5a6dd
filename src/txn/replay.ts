import { SopError } from '../errors/sop-error.js';
import type { TreeSession } from './tree-session.js';

/**
 * Merge (SOP E50/E51, spec TX-5): when nodes a transaction read were changed by another
 * commit, its item-level actions are replayed onto the current nodes. The replay succeeds
 * only if every observation still holds: each item it read, updated or removed still exists
 * at the version it saw, each key it found absent is still absent, and each add still fits a
 * unique tree. Otherwise the transaction conflicts.
 */
export async function replay(session: TreeSession): Promise<void> {
  if (!session.mergeable) throw conflict(session, 'it scanned a range that changed');
  const entries = [...session.tracker.entries.values()];
  session.resetForReplay();
  const tree = session.tree;
  for (const key of session.tracker.absentKeys) {
    if (await tree.find(key)) throw conflict(session, 'a key it found absent was added');
  }
  for (const entry of entries) {
    if (!entry.original) continue;
    const found = await tree.findItem(entry.original.key, entry.id);
    if (!found || tree.current()!.version !== entry.original.version) {
      throw conflict(session, 'an item it used was changed or removed');
    }
  }
  for (const entry of entries) {
    if (entry.action === 'add') {
      if (!(await tree.add(entry.current!))) throw conflict(session, 'a key it added was added by another transaction');
    } else if (entry.action === 'update' || entry.action === 'remove') {
      await tree.findItem(entry.original!.key, entry.id);
      if (entry.action === 'update') await tree.replaceCurrent(entry.current!);
      else await tree.removeCurrent();
    }
  }
}

function conflict(session: TreeSession, why: string): SopError {
  return new SopError('CONFLICT', `store ${session.store.name}: a concurrent transaction committed first and ${why}; retry`);
}
