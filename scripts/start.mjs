#!/usr/bin/env node
// `npm start`: the desktop app when Electron can run here; otherwise the headless agent with the
// console in a browser, saying so in one line. No flags needed; extra arguments go to the agent.
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { decideStartMode, findElectronBinary } from './electron-binary.mjs';
import { buildElectron } from './build.mjs';
import { ensureConsoleBuilt } from './console-build.mjs';

const root = new URL('..', import.meta.url).pathname;
const extraArgs = process.argv.slice(2);

/** Newest modification time under a folder (sources), to decide whether the bundle is stale. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

function electronBuildIsStale() {
  const bundle = join(root, 'dist/electron/main.cjs');
  if (!existsSync(bundle) || !existsSync(join(root, 'dist/electron/preload.cjs'))) return true;
  const built = statSync(bundle).mtimeMs;
  return ['electron', 'shared'].some((dir) => newest(join(root, dir)) > built);
}

/** Runs a child with our stdio, passing on Ctrl-C/SIGTERM, and exits with its status. */
function run(command, args, env = process.env) {
  const child = spawn(command, args, { cwd: root, stdio: 'inherit', env });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  child.on('error', (err) => {
    console.error(`Could not start ${command}: ${err.message}`);
    process.exit(1);
  });
}

const decision = decideStartMode({ binary: findElectronBinary() });
try {
  if (decision.mode === 'electron') {
    if (electronBuildIsStale()) await buildElectron();
    await ensureConsoleBuilt();
    run(decision.path, [root, ...extraArgs], { ...process.env, ELECTRON_RUN_AS_NODE: undefined });
  } else {
    // `lattice agent` builds the console first when it is missing or stale, then prints its URL.
    console.log(`${decision.reason} — running the agent headless; open the console in a browser:`);
    run(process.execPath, [join(root, 'bin/lattice.mjs'), 'agent', ...extraArgs]);
  }
} catch (err) {
  console.error(`npm start failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
