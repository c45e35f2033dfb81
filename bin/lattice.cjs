#!/usr/bin/env node
// The `lattice` command's Node entry: runs the prebuilt bundle in dist/cli when it is current, with
// V8's code cache beside it, and hands everything else (a stale or missing bundle, which it rebuilds;
// LATTICE_CLI_FROM_SOURCE=1) to scripts/cli-bundle.mjs. CommonJS on purpose: an ES-module entry
// starts Node's ES-module loader first, some 20 ms on every command; this file loads with require
// and reaches the ES-module scripts only on those rarer paths. bin/lattice (the installed command)
// and bin/lattice.mjs both come here.
'use strict';
const { readFileSync, renameSync, statSync, writeFileSync } = process.getBuiltinModule('node:fs');
const { createRequire } = process.getBuiltinModule('node:module');
const { dirname, join } = process.getBuiltinModule('node:path');
const vm = process.getBuiltinModule('node:vm');

/** The repository root, with a trailing separator: the bundle's inputs are relative to it. */
const root = join(__dirname, '..', '/');
const CLI_OUT_ROOT = join(root, 'dist', 'cli');

function readCurrent() {
  try {
    return JSON.parse(readFileSync(join(CLI_OUT_ROOT, 'current.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** The bundle's entry file when it is complete and no file it was built from changed since. */
function freshCliBundle() {
  const current = readCurrent();
  if (!current || typeof current.id !== 'string' || !Array.isArray(current.inputs)) return undefined;
  // `root` ends with a separator and the inputs are relative paths: no path.join per file.
  for (const input of current.inputs) {
    const st = statSync(root + input, { throwIfNoEntry: false });
    if (!st || st.mtimeMs > current.builtAt) return undefined;
  }
  const entry = join(CLI_OUT_ROOT, current.id, 'cli.cjs');
  return statSync(entry, { throwIfNoEntry: false }) ? entry : undefined;
}

/**
 * The bundle's `main`, run as Node's require would run the file, but compiled with V8's code cache
 * (written beside it after the first run, and again whenever V8 rejects it, e.g. after a Node update).
 */
function runBundle(file) {
  const cacheFile = `${file}.v8-cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`;
  const script = new vm.Script(wrapper, {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  const saveCache = () => {
    try {
      const temp = `${cacheFile}.${process.pid}`;
      writeFileSync(temp, script.createCachedData());
      renameSync(temp, cacheFile);
    } catch {
      // A read-only checkout: every start compiles, which is only slower.
    }
  };
  return async (argv, launcher) => {
    await module.exports.main(argv, launcher);
    // After the command ran, so the functions it compiled are in the cache too.
    if (!cachedData || script.cachedDataRejected) saveCache();
  };
}

/** What the command line asks of its launcher: building the console stays out of the bundle. */
const launcher = {
  ensureConsoleBuilt: async () => (await import('../scripts/console-build.mjs')).ensureConsoleBuilt(),
};

/** Runs one `lattice` command line. */
async function run(argv = process.argv) {
  const entry = process.env.LATTICE_CLI_FROM_SOURCE === '1' ? undefined : freshCliBundle();
  const main = entry ? runBundle(entry) : await (await import('../scripts/cli-bundle.mjs')).loadCli();
  await main(argv, launcher);
}

module.exports = { CLI_OUT_ROOT, readCurrent, freshCliBundle, runBundle, run };

if (require.main === module) {
  run().catch((err) => {
    process.exitCode = 1;
    throw err;
  });
}
