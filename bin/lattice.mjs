#!/usr/bin/env node
// The `lattice` command. Runs the prebuilt bundle in dist/cli (built by `npm install`, or here on
// first run and whenever a source file changed); LATTICE_CLI_FROM_SOURCE=1 runs the TypeScript
// sources through tsx instead, for development. Building the console stays out of the bundle.
import { loadCli } from '../scripts/cli-bundle.mjs';

const main = await loadCli();
await main(process.argv, {
  ensureConsoleBuilt: async () => (await import('../scripts/console-build.mjs')).ensureConsoleBuilt(),
});
