import { Database } from '../database/database.js';
import type { ReplicationInfo } from '../replication/replication.js';
import { type OpsArgs, messageOf, openOptions, progressLine } from './ops-args.js';

/** One thing `sop verify` found wrong, naming where. */
interface Problem {
  readonly store?: string;
  readonly blob?: string;
  readonly file?: string;
  readonly problem: string;
}

interface StoreSummary {
  readonly name: string;
  readonly count?: number;
  readonly depth?: number;
  readonly nodes?: number;
  readonly blobs: number;
  readonly ok: boolean;
}

const MAX_LINES = 50;

/**
 * `sop verify <folder>`: a full scrub. Opens the database (so recovery runs first), then per
 * store the structure check (tree order, counts, reachability, every node read and CRC-checked:
 * STRUCT-1..3) and every blob file's frame CRC read directly; with erasure coding every shard's
 * CRC, parity consistency and the decoded blob (EC-1). Exit 0 when healthy, 1 otherwise.
 */
export async function verify(args: OpsArgs): Promise<number> {
  const options = await openOptions(args);
  const problems: Problem[] = [];
  const stores: StoreSummary[] = [];
  const progress = progressLine();
  let db: Database;
  try {
    db = await Database.open(options);
  } catch (error) {
    return report(args, stores, [{ problem: `cannot open: ${messageOf(error)}` }], null);
  }
  const replication = db.replicationStatus();
  try {
    for (const { name } of await db.listStores({ parts: true })) {
      const before = problems.length;
      progress.show(`verify: store ${name}: structure`);
      let check: Awaited<ReturnType<Database['checkStore']>> | null = null;
      try {
        check = await db.checkStore(name);
        if (check.orphanBlobs > 0) problems.push({ store: name, problem: `${check.orphanBlobs} unreferenced blob(s), e.g. ${check.orphanSample.join(', ')} (STRUCT-3)` });
      } catch (error) {
        problems.push({ store: name, problem: messageOf(error) });
      }
      let blobs = 0;
      try {
        const scrub = await db.scrubStore(name, (done, total) => progress.show(`verify: store ${name}: blob ${done}/${total}`));
        blobs = scrub.blobs;
        for (const issue of scrub.issues) problems.push({ store: name, blob: issue.id, file: issue.file, problem: issue.problem });
      } catch (error) {
        problems.push({ store: name, problem: `blob scrub: ${messageOf(error)}` });
      }
      stores.push({ name, count: check?.count, depth: check?.depth, nodes: check?.nodes, blobs, ok: problems.length === before });
    }
    problems.push(...(await replicaProblems(db, progress)));
  } finally {
    progress.clear();
    await db.close();
  }
  return report(args, stores, problems, replication);
}

/** Replication in sync: both folders must be byte-identical (REPL-3); out of sync is reported, not a problem of the data. */
async function replicaProblems(db: Database, progress: ReturnType<typeof progressLine>): Promise<Problem[]> {
  const status = db.replicationStatus();
  if (!status || status.passiveState !== 'in-sync') return [];
  progress.show('verify: comparing the replicas');
  return (await db.compareReplicas()).map((difference) => ({ problem: `replica ${status.passive} differs from ${status.active}: ${difference}` }));
}

function report(args: OpsArgs, stores: StoreSummary[], problems: Problem[], replication: ReplicationInfo | null): number {
  const healthy = problems.length === 0;
  if (args.json) {
    const { events: _events, ...summary } = replication ?? { events: [] };
    process.stdout.write(`${JSON.stringify({ folder: args.folder, healthy, stores, problems, replication: replication ? summary : null }, null, 2)}\n`);
  } else {
    const out: string[] = [`sop verify ${args.folder}`];
    if (replication) out.push(`  ${replicationLine(replication)}`);
    for (const s of stores) {
      const shape = s.count === undefined ? 'structure check failed' : `${s.count} items, depth ${s.depth}, ${s.nodes} nodes`;
      out.push(`  store ${s.name}: ${shape}, ${s.blobs} blobs: ${s.ok ? 'ok' : 'PROBLEMS'}`);
    }
    for (const p of problems.slice(0, MAX_LINES)) {
      const where = [p.store && `store ${p.store}`, p.blob && `blob ${p.blob}`, p.file && p.file !== `blob ${p.blob}` && `file ${p.file}`].filter(Boolean).join(' ');
      // Each line names store, blob and file once: prefixes that repeat them are dropped.
      const problem = [`store ${p.store}: `, `blob ${p.blob}: `].reduce((text, prefix) => (text.startsWith(prefix) ? text.slice(prefix.length) : text), p.problem);
      out.push(`  ${problem === 'missing' ? 'MISSING' : 'CORRUPT'} ${where}${where ? ': ' : ''}${problem}`);
    }
    if (problems.length > MAX_LINES) out.push(`  ... and ${problems.length - MAX_LINES} more (--json lists all)`);
    out.push(healthy ? `healthy: ${stores.length} stores, ${stores.reduce((n, s) => n + s.blobs, 0)} blobs` : `NOT healthy: ${problems.length} problem(s)`);
    process.stdout.write(`${out.join('\n')}\n`);
  }
  return healthy ? 0 : 1;
}

export function replicationLine(r: ReplicationInfo): string {
  return `replication: active ${r.active}, passive ${r.passive} ${r.passiveState} (epoch ${r.epoch}${r.failedOver ? ', failed over' : ''}): ${r.reason}`;
}
