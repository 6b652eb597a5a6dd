/**
 * Runs the Quint CLI (`@informalsystems/quint`, TypeScript backend: the default Rust backend
 * downloads a binary, which cannot work offline) as a child process.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const SPEC_DIR = join(ROOT, 'spec');

function quintCli(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@informalsystems/quint/package.json')), 'dist', 'src', 'cli.js');
}

export interface QuintResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  readonly args: readonly string[];
}

/** `quint <args>` with a wall-clock limit; never inherits coverage instrumentation (c8). */
export function quint(args: readonly string[], timeoutMs = 600_000): Promise<QuintResult> {
  const env = { ...process.env };
  delete env.NODE_V8_COVERAGE;
  delete env.NODE_OPTIONS;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [quintCli(), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, ms: Date.now() - started, args });
    });
  });
}

/** Runs tasks with at most `limit` in flight, keeping the results in order. */
export async function pool<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
