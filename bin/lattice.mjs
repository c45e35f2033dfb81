#!/usr/bin/env node
// `node bin/lattice.mjs …`, as scripts and tests have long called the CLI: the same as the installed
// `lattice` command without its launcher (bin/lattice). Everything happens in bin/lattice.cjs, which
// runs the prebuilt bundle in dist/cli (built by `npm install`, or on first run and whenever a source
// file changed); LATTICE_CLI_FROM_SOURCE=1 runs the TypeScript sources through tsx instead.
import { run } from './lattice.cjs';

await run(process.argv);
