// The `lattice` command line. bin/lattice.mjs builds it here and adds `lattice hub` from the server.
import type { Command } from 'commander';
import { registerAgentCommand } from './agent-command';
import { registerDeployCommand } from './deploy-command';
import { registerPairCommand } from './pair';
import { createRootCommand } from './root';
import { registerShareCommands } from './share';
import { registerWorkloadCommands } from './workload-commands';

export function buildProgram(): Command {
  const program = createRootCommand();
  registerAgentCommand(program);
  registerDeployCommand(program);
  registerWorkloadCommands(program);
  registerPairCommand(program);
  registerShareCommands(program);
  return program;
}
