// What every `lattice` subcommand shares: --json and --data-dir, finding the agent, and failing with
// one `error: <message>` line and a non-zero exit.
import type { Command } from 'commander';
import { resolveDataDir } from '../data-dir';
import { AgentClient } from './agent-client';

export interface CommonFlags {
  json?: boolean;
  dataDir?: string;
}

export function withCommonOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print machine-readable JSON')
    .option(
      '--data-dir <dir>',
      'the agent data directory (default: $LATTICE_DATA_DIR or the per-user config dir)',
    );
}

export const connect = (flags: CommonFlags) => AgentClient.connect(resolveDataDir(flags.dataDir));

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** One line on stderr, exit code 1: scripts test the code, people read the line. */
export function fail(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${message.replace(/\s*\n\s*/g, ' ').trim()}\n`);
  process.exitCode = 1;
}

/** Wraps an action so any failure ends as `fail()`. */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      fail(err);
    }
  };
}

export const collect = (value: string, previous: string[] = []) => [...previous, value];
