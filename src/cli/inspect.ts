import type { ReplayReport } from '../journal/replay.js';
import { realEnv } from '../adapters/real-env.js';
import { Database } from '../database/database.js';
import type { DriveHealth } from '../ec/repair.js';
import { ErasureBlobStore } from '../ec/erasure-blob-store.js';
import { blobsFactory } from '../ec/factory.js';
import { joinPath } from '../util/paths.js';
import { type OpsArgs, messageOf, openOptions, progressLine } from './ops-args.js';
import { replicationLine } from './verify.js';

interface StoreView {
  readonly name: string;
  readonly count?: number;
  readonly depth?: number;
  readonly nodes?: number;
  readonly handles?: number;
  readonly orphanBlobs?: number;
  /** 'ok' when the registry loaded and the tree checked out; otherwise the error. */
  readonly health: string;
  readonly drives?: DriveHealth[];
}

/**
 * `sop inspect <folder>`: what is in a database. Per store: item count, tree depth and nodes,
 * registry handles, orphan blobs and health (the structure check), and with erasure coding each
 * drive's state and shard count, and with replication which folder is active and what the passive
 * one is worth (in sync, failed, being reinstated) with the recent status changes, and for a folder
 * that has used journal mode what its journal held. Reads only (opening runs recovery, as any open does).
 */
export async function inspect(args: OpsArgs): Promise<number> {
  const options = await openOptions(args);
  const db = await Database.open(options);
  const views: StoreView[] = [];
  const progress = progressLine();
  const replication = db.replicationStatus();
  const journal = db.journalReplay;
  try {
    const factory = blobsFactory(realEnv(), args.erasureCoding);
    for (const { name } of await db.listStores({ parts: true })) {
      progress.show(`inspect: store ${name}`);
      let view: StoreView;
      try {
        const c = await db.checkStore(name);
        view = { name, count: c.count, depth: c.depth, nodes: c.nodes, handles: c.handles, orphanBlobs: c.orphanBlobs, health: 'ok' };
      } catch (error) {
        view = { name, health: messageOf(error) };
      }
      const blobs = factory.open(name, joinPath(db.folder, 'stores', name));
      if (blobs instanceof ErasureBlobStore) view = { ...view, drives: await blobs.driveHealth() };
      views.push(view);
    }
  } finally {
    progress.clear();
    await db.close();
  }
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ folder: args.folder, erasureCoding: args.erasureCoding ?? null, replication, journal, stores: views }, null, 2)}\n`);
    return 0;
  }
  const rows = [['STORE', 'ITEMS', 'DEPTH', 'NODES', 'HANDLES', 'ORPHANS', 'HEALTH']];
  for (const v of views) rows.push([v.name, ...[v.count, v.depth, v.nodes, v.handles, v.orphanBlobs].map((n) => (n === undefined ? '-' : String(n))), v.health]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = [`sop inspect ${args.folder}: ${views.length} store(s)`, ...(replication ? [replicationLine(replication)] : []), ...(journal.seq > 0 ? journalLines(journal) : []), ...rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  '))];
  for (const v of views.filter((s) => s.drives)) {
    lines.push(`  ${v.name} shards: ${v.drives!.map((d) => `[${d.index}] ${d.drive} ${d.state === 'ok' ? `${d.shards}` : d.state}`).join(' | ')}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** Journal mode (JNL-4): what the open that inspect ran found in the journal. */
function journalLines(journal: ReplayReport): string[] {
  return [`journal: ${journal.replayed} record(s) replayed at open; checkpointed through commit ${journal.seq}`, ...journal.damaged.map((d) => `journal: DAMAGED store ${d.store}: node ${d.node} not rebuilt, its base ${d.base} is damaged (${d.why})`)];
}
