#!/usr/bin/env node
// `npm install`'s last step for this project. It never fails the install: what it cannot do here,
// it says in one line, and the product works without it.
//
// 1. Electron's binary. package.json's `allowScripts` keeps npm from running Electron's own
//    download script (which exits 1 without internet and takes the whole install down with it); we
//    run that script here instead. Without the binary `npm start` runs the agent headless.
// 2. The `lattice` CLI bundle (dist/cli), so the first command starts quickly. It is built on first
//    run otherwise.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { findElectronBinary } from './electron-binary.mjs';

const require = createRequire(import.meta.url);
const firstLine = (text) =>
  String(text)
    .split('\n')
    .map((l) => l.trim())
    .find(Boolean) ?? '';

/** The reason Electron's download failed, from its stack trace: the `XxxError: message` line. */
export function downloadFailureReason(stderr) {
  const lines = String(stderr)
    .split('\n')
    .map((l) => l.trim());
  return lines.find((l) => /^\w*Error\b.*:/.test(l)) ?? firstLine(stderr) ?? 'no output';
}

function installElectronBinary() {
  let installScript;
  try {
    installScript = require.resolve('electron/install.js');
  } catch {
    // An install without devDependencies: the desktop shell is not part of it.
    return 'Electron is not installed (no devDependencies): `npm start` runs the agent headless.';
  }
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    return "Electron's binary: not downloaded (ELECTRON_SKIP_BINARY_DOWNLOAD is set) — `npm start` runs the agent headless.";
  }
  const run = spawnSync(process.execPath, [installScript], {
    cwd: dirname(installScript),
    encoding: 'utf8',
    timeout: 10 * 60_000,
  });
  if (run.status === 0 && findElectronBinary().present) return undefined;
  const reason = run.error ? run.error.message : downloadFailureReason(run.stderr || run.stdout);
  return (
    `Electron's binary could not be downloaded (${reason}) — \`npm start\` runs the agent headless; ` +
    `\`node node_modules/electron/install.js\` retries the download.`
  );
}

async function buildCli() {
  try {
    const { buildCliBundle } = await import('./cli-bundle.mjs');
    await buildCliBundle();
    return undefined;
  } catch (err) {
    return `The lattice CLI bundle could not be built (${firstLine(err instanceof Error ? err.message : err)}); it will be built on first run.`;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of [installElectronBinary(), await buildCli()]) if (line) console.log(line);
}
