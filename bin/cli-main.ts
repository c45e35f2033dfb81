// The whole `lattice` command line: the agent's commands and `lattice hub`. bin/lattice.mjs runs it
// from the prebuilt bundle (scripts/cli-bundle.mjs) or, in development, from source through tsx.
import type { Command } from 'commander';
import { createRootCommand } from '../electron/agent/cli/root';
import { registerWorkloadCommands } from '../electron/agent/cli/workload-commands';

export interface CliLauncher {
  /** Builds the console (dist/renderer) when missing or stale; throws when the build fails. */
  ensureConsoleBuilt(): Promise<unknown>;
}

/** Commands that print a URL to the console or dashboard: they need dist/renderer first. */
const SERVES_CONSOLE = new Set(['agent', 'hub']);

/**
 * The program for this command line. A workload verb (`lattice ls`, `inspect`, `logs`…) gets the
 * root command with the workload verbs only: the same parsing, help and errors for that verb, without
 * loading the other commands (deploy's and share's argument schemas, the hub's flags) and the zod
 * contract they import. Anything else (`lattice --help`, `deploy`, `hub`, a typo) gets every command.
 */
async function programFor(argv: string[]): Promise<Command> {
  const quick = createRootCommand();
  registerWorkloadCommands(quick);
  const verb = argv[2];
  if (quick.commands.some((c) => c.name() === verb || c.aliases().includes(verb))) return quick;
  const [{ buildProgram }, { registerHubCommand }] = await Promise.all([
    import('../electron/agent/cli/program'),
    import('../server/cli'),
  ]);
  const program = buildProgram();
  registerHubCommand(program);
  return program;
}

export async function main(argv: string[], launcher: CliLauncher): Promise<void> {
  const program = await programFor(argv);
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
