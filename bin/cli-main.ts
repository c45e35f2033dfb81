// The whole `lattice` command line: the agent's commands and `lattice hub`. bin/lattice.mjs runs it
// from the prebuilt bundle (scripts/cli-bundle.mjs) or, in development, from source through tsx.
import type { Command } from 'commander';
import { buildProgram } from '../electron/agent/cli/program';
import { registerHubCommand } from '../server/cli';

export interface CliLauncher {
  /** Builds the console (dist/renderer) when missing or stale; throws when the build fails. */
  ensureConsoleBuilt(): Promise<unknown>;
}

/** Commands that print a URL to the console or dashboard: they need dist/renderer first. */
const SERVES_CONSOLE = new Set(['agent', 'hub']);

export async function main(argv: string[], launcher: CliLauncher): Promise<void> {
  const program = buildProgram();
  registerHubCommand(program);
  program.hook('preAction', async (_program: Command, command: Command) => {
    if (!SERVES_CONSOLE.has(command.name())) return;
    try {
      await launcher.ensureConsoleBuilt();
    } catch (err) {
      // The API and the CLI work without it; say why the browser will not find the console.
      const reason = err instanceof Error ? err.message : String(err);
      process.stderr.write(`The console could not be built (${reason}); starting without it.\n`);
    }
  });
  await program.parseAsync(argv);
}
