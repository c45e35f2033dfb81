#!/usr/bin/env node
// `npm install`'s last step for this project. It never fails the install: what it cannot do here,
// it says in one line, and the product works without it.
//
// 1. Electron's binary. package.json's `allowScripts` keeps npm 11 from running Electron's own
//    download script (which exits 1 without internet); we run that script here instead. npm 10
//    ignores `allowScripts` and runs it: Electron is an optional dependency (of the dev dependency
//    scripts/electron-optional), so its failure makes npm leave Electron out instead of failing the
//    whole install. Without the binary `npm start` runs the agent headless.
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

/** Why npm installed no Electron package at all, in one line. */
function electronLeftOut(env = process.env) {
  let devDependencies = true;
  try {
    require.resolve('lattice-electron-optional/package.json');
  } catch {
    devDependencies = false;
  }
  if (!devDependencies) {
    // An install without devDependencies: the desktop shell is not part of it.
    return 'Electron is not installed (no devDependencies): `npm start` runs the agent headless.';
  }
  if (/\boptional\b/.test(env.npm_config_omit ?? '')) {
    return 'Electron is not installed (--omit=optional): `npm start` runs the agent headless.';
  }
  // npm 10 ran Electron's download script, which failed, and left the optional package out.
  return (
    "Electron's binary could not be downloaded (npm ran Electron's own download script, which failed, " +
    'and left Electron out) — `npm start` runs the agent headless; `npm install` again where ' +
    "Electron's host is reachable installs it."
  );
}

function installElectronBinary() {
  let installScript;
  try {
    installScript = require.resolve('electron/install.js');
  } catch {
    return electronLeftOut();
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
