// The `lattice` command line. bin/lattice.mjs builds it here and adds `lattice hub` from the server.
import { Command } from 'commander';
import { LATTICE_VERSION } from '../../../shared/version';
import { registerAgentCommand } from './agent-command';
import { registerDeployCommand } from './deploy-command';
import { registerPairCommand } from './pair';
import { registerShareCommands } from './share';
import { registerWorkloadCommands } from './workload-commands';

export function buildProgram(): Command {
  const program = new Command('lattice')
    .description(
      'Turn this computer into a small cloud provider: Postgres, MinIO and any container, one command away.',
    )
    .version(LATTICE_VERSION)
    .showSuggestionAfterError(true)
    // Commander's own errors (bad flags, missing arguments) as the same single `error:` line as ours.
    .configureOutput({
      outputError: (text, write) => write(`${text.replace(/\s*\n\s*(?=\S)/g, ' ').trimEnd()}\n`),
    });
  registerAgentCommand(program);
  registerDeployCommand(program);
  registerWorkloadCommands(program);
  registerPairCommand(program);
  registerShareCommands(program);
  return program;
}
