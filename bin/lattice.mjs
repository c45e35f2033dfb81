#!/usr/bin/env node
// The `lattice` command. TypeScript runs through tsx's loader, so a fresh clone needs no build step.
import { register } from 'tsx/esm/api';

register();
const { buildProgram } = await import('../electron/agent/cli/program.ts');
const { registerHubCommand } = await import('../server/cli.ts');
const program = buildProgram();
registerHubCommand(program);
await program.parseAsync(process.argv);
