// The root `lattice` command without its subcommands: the one configuration both the full program
// (program.ts) and a workload verb's quick start (bin/cli-main.ts) build on.
import { Command } from 'commander';
import { LATTICE_VERSION } from '../../../shared/version';

export function createRootCommand(): Command {
  return (
    new Command('lattice')
      .description(
        'Turn this computer into a small cloud provider: Postgres, MinIO and any container, one command away.',
      )
      .version(LATTICE_VERSION)
      .showSuggestionAfterError(true)
      // Commander's own errors (bad flags, missing arguments) as the same single `error:` line as ours.
      .configureOutput({
        outputError: (text, write) => write(`${text.replace(/\s*\n\s*(?=\S)/g, ' ').trimEnd()}\n`),
      })
  );
}
