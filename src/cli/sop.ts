#!/usr/bin/env node
/**
 * The `sop` command. Subcommands live in their own files; this one only parses arguments.
 */
import { demo } from './demo.js';

const USAGE = `usage: sop <command> [options]
  demo [--folder DIR] [--seconds N] [--workers N]   a short tour of the engine (standalone)`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'demo':
      return demo({ folder: option(args, 'folder'), seconds: Number(option(args, 'seconds') ?? 5), workers: Number(option(args, 'workers') ?? 8) });
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
