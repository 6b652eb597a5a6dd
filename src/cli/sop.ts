#!/usr/bin/env node
/**
 * The `sop` command. Subcommands live in their own files; this one only parses arguments.
 */
import { simCommand } from '../../sim/cli.js';
import { demo } from './demo.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { reinstateCommand } from './reinstate.js';
import { repair } from './repair.js';
import { inspect } from './inspect.js';
import { UsageError, parseOpsArgs } from './ops-args.js';
import { verify } from './verify.js';

const USAGE = `usage: sop <command> [options]
  sim  [--seeds N [--first S] | --seed S | --seconds N] [--steps N] [--nodes 1..8] [--clients N] [--journal] [--erasure-coding]
       [--faults all|none|kind,kind] [--json] [--require-all] [--trace N]
                                                    deterministic simulation with fault injection
  demo [--folder DIR] [--seconds N] [--workers N]   a short tour of the engine (standalone)
  verify  <folder> [--json] [--passive DIR] [--drives A,B,C --data D --parity P]
                                                    full scrub: trees, counts, every blob's CRC (and EC shards,
                                                    parity, replicas equal); exit 0 when healthy, 1 with a list
                                                    of what is corrupt
  inspect <folder> [--json] [--passive DIR] [--drives A,B,C --data D --parity P]
                                                    stores, item counts, tree depth and nodes, registry, EC
                                                    drive health, replication status
  repair  <folder> [--json] [--drives A,B,C --data D --parity P]
                                                    rebuild every missing or corrupt EC shard (after a drive
                                                    was replaced); exit 0 when every blob is whole again
  reinstate <folder> [--json] [--passive DIR]       bring a replaced or repaired passive drive back: full copy,
                                                    then the deltas, mirroring on; exit 0 when the replicas are
                                                    identical (restartable). With replication, <folder> may be
                                                    either drive; --passive names the other when it is empty
  export <folder> <file> [--json] [--passive DIR] [--drives A,B,C --data D --parity P]
                                                    a consistent JSON-lines snapshot of every store
  import <file> <folder> [--json]                   a new database folder from an export file (all or nothing)`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

function num(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number, got ${JSON.stringify(text)}`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'sim':
      return simCommand({
        seeds: num(option(args, 'seeds')),
        seed: num(option(args, 'seed')),
        first: num(option(args, 'first')),
        seconds: num(option(args, 'seconds')),
        steps: num(option(args, 'steps')) ?? 100,
        nodes: num(option(args, 'nodes')) ?? 1,
        clients: num(option(args, 'clients')) ?? 4,
        faults: option(args, 'faults'),
        json: args.includes('--json'),
        requireAll: args.includes('--require-all'),
        trace: num(option(args, 'trace')),
        journal: args.includes('--journal'),
        erasureCoding: args.includes('--erasure-coding'),
      });
    case 'demo':
      return demo({ folder: option(args, 'folder'), seconds: Number(option(args, 'seconds') ?? 5), workers: Number(option(args, 'workers') ?? 8) });
    case 'verify':
    case 'inspect':
    case 'repair':
    case 'reinstate':
      try {
        const parsed = parseOpsArgs(args);
        const run = { verify, repair, inspect, reinstate: reinstateCommand }[command];
        return await run(parsed);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        process.stderr.write(`sop ${command}: ${error.message} (sop help: usage)\n`);
        return 2;
      }
    case 'export':
    case 'import':
      try {
        return await (command === 'export' ? exportCommand(args) : importCommand(args));
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        process.stderr.write(`sop ${command}: ${error.message} (sop help: usage)\n`);
        return 2;
      }
    default:
      process.stderr.write(`${USAGE}\n`);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`sop: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
