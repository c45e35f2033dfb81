// The `lattice` CLI as a prebuilt bundle: esbuild turns bin/cli-main.ts and everything it imports
// from this repo into one CommonJS file, dist/cli/<build id>/cli.cjs, so a command starts without
// transpiling TypeScript (tsx stays the development path: LATTICE_CLI_FROM_SOURCE=1). The file is
// compiled through node:vm with V8's code cache beside it, so a command reads compiled code instead of
// compiling it. What only some commands use (the zod contract, deploy's and share's arguments, the
// hub's flags) is evaluated when first imported: `lattice ls` runs commander and one request.
//
// The bundle is built by `npm install` (scripts/postinstall.mjs) or on first run, and rebuilt when
// any file it was built from changed: dist/cli/current.json lists those files with the build time.
// Builds go to a fresh folder and current.json is replaced by a rename, so processes that start
// while another one rebuilds always load a complete bundle.
//
// A command whose bundle is current never loads this file: bin/lattice.cjs checks and runs the
// bundle itself (freshCliBundle, runBundle live there) and comes here only to build or to run the
// sources. Built-in modules still come through process.getBuiltinModule rather than
// `import … from 'node:…'`, which would build an ES-module facade of each one.
import { CLI_OUT_ROOT, freshCliBundle, readCurrent, runBundle } from '../bin/lattice.cjs';

const { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } =
  process.getBuiltinModule('node:fs');
const { join, relative, sep } = process.getBuiltinModule('node:path');
const { fileURLToPath, pathToFileURL } = process.getBuiltinModule('node:url');

const root = fileURLToPath(new URL('..', import.meta.url));
export { CLI_OUT_ROOT, freshCliBundle };
const ENTRY = join(root, 'bin', 'cli-main.ts');
/** The relay byte streams' worker thread, and the name relay-stream-thread.ts looks for beside the agent. */
const PUMP_WORKER_ENTRY = join(root, 'electron', 'agent', 'tunnels', 'relay-stream-worker.ts');
const PUMP_WORKER_BUNDLE = 'relay-stream-worker.cjs';

/**
 * Packages left to Node's require at run time, from node_modules: native modules, pino and its
 * worker-thread transports, and the agent's and hub's heavier dependencies (loaded only by
 * `lattice agent` / `lattice hub`). Everything else, ES-module-only packages included, is bundled.
 */
const EXTERNAL_PACKAGES = [
  'better-sqlite3',
  '@ngrok/ngrok',
  'dockerode',
  'ssh2',
  'cpu-features',
  'pino',
  'pino-pretty',
  'thread-stream',
  'pg',
  'pg-native',
  'ws',
  'bufferutil',
  'utf-8-validate',
  'esbuild',
  'tsx',
];

/**
 * Our sources locate files next to themselves (`new URL('./migrations', import.meta.url)`, the
 * built console, package.json). A CommonJS bundle has no import.meta, so each source file's
 * mentions become the file URL that source file has in the repo, found from the bundle's folder.
 */
function keepSourceUrls(outDir) {
  return {
    name: 'keep-source-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.(ts|mts|mjs|js)$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        const fromBundle = relative(outDir, args.path).split(sep).join('/');
        return {
          contents: source.replaceAll(
            'import.meta.url',
            `require('node:url').pathToFileURL(require('node:path').join(__dirname, ${JSON.stringify(fromBundle)})).href`,
          ),
          loader: args.path.endsWith('ts') ? 'ts' : 'js',
        };
      });
    },
  };
}

/** Removes builds other than `keep` that are old enough that no command still loads from them. */
function removeOldBuilds(keep) {
  for (const name of readdirSync(CLI_OUT_ROOT)) {
    if (name === keep || name === 'current.json' || name.startsWith('current.json.')) continue;
    const path = join(CLI_OUT_ROOT, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st && Date.now() - st.mtimeMs > 10 * 60_000) rmSync(path, { recursive: true, force: true });
  }
}

/**
 * Where a dynamic import stays inside the bundle that makes it: esbuild turns such an import into a
 * module evaluated when the import runs (the CLI's zod contract, loaded only by the commands that
 * validate with it, and `lattice hub`'s flags). Any other relative import() is a runtime of its own.
 */
const LAZY_IN_BUNDLE = ['bin/', 'shared/', 'electron/agent/cli/', 'server/cli.ts'];
const RESOLVING = Symbol('resolving');

/**
 * Our relative imports. What a command loads only when it runs (`import('../run-agent')` in
 * `lattice agent`, the hub's server in `lattice hub`) becomes a bundle of its own beside cli.cjs,
 * required when the import runs: `lattice ls` never reads or compiles the agent's or the hub's code.
 */
function ourImports(found) {
  return {
    name: 'our-imports',
    setup(build) {
      build.onResolve({ filter: /^\./ }, async (args) => {
        if (args.pluginData === RESOLVING || args.importer.includes(`${sep}node_modules${sep}`)) {
          return undefined;
        }
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: RESOLVING,
        });
        if (resolved.errors.length) return { errors: resolved.errors };
        const inRepo = relative(root, resolved.path).split(sep).join('/');
        if (args.kind === 'dynamic-import' && !LAZY_IN_BUNDLE.some((p) => inRepo.startsWith(p))) {
          const name = `${inRepo
            .replace(/\.[cm]?[jt]s$/, '')
            .split('/')
            .join('-')}.cjs`;
          found.set(resolved.path, name);
          return { path: `./${name}`, external: true };
        }
        return { path: resolved.path };
      });
    },
  };
}

/**
 * commander requires node:child_process at load for subcommands that are separate executables, which
 * `lattice` has none of; loading it costs every command a few milliseconds. In the bundle commander
 * gets it on first use instead.
 */
const LAZY_NAMESPACE = 'lattice-lazy';

function lazyChildProcessForCommander() {
  return {
    name: 'lazy-child-process-for-commander',
    setup(build) {
      build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
        args.importer.includes(`${sep}node_modules${sep}commander${sep}`)
          ? { path: 'lazy-child-process', namespace: LAZY_NAMESPACE }
          : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: LAZY_NAMESPACE }, () => ({
        contents:
          "let cp; module.exports = new Proxy({}, { get: (_, key) => (cp ??= require('node:child_process'))[key] });",
        loader: 'js',
      }));
    },
  };
}

/**
 * zod is most of the bundle (450 of its 580 KB) and only the commands that validate use it: it goes
 * to a file of its own beside cli.cjs, required when a command first evaluates the contract, so
 * `lattice ls` reads and deserializes only its own code. Every bundle of one build shares that file.
 */
const ZOD_FILE = 'zod.cjs';

function zodBeside() {
  return {
    name: 'zod-beside',
    setup(build) {
      build.onResolve({ filter: /^zod$/ }, (args) =>
        args.importer.includes(`${sep}node_modules${sep}`)
          ? undefined
          : { path: `./${ZOD_FILE}`, external: true },
      );
    },
  };
}

/** Builds the bundle and makes it current; returns its entry file. */
export async function buildCliBundle() {
  const { build } = await import('esbuild');
  // The time before reading any source: a file saved during the build counts as changed after it.
  const builtAt = Date.now();
  const id = `${builtAt.toString(36)}-${process.pid}`;
  const outDir = join(CLI_OUT_ROOT, id);
  mkdirSync(outDir, { recursive: true });
  const lazy = new Map();
  const built = new Set();
  const inputs = new Set(['package.json', 'node_modules/.package-lock.json']);
  const bundle = async (entry, outName, plugins = [zodBeside(), ourImports(lazy)]) => {
    const result = await build({
      absWorkingDir: root,
      ...(typeof entry === 'string' ? { entryPoints: [entry] } : { stdin: entry }),
      outfile: join(outDir, outName),
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      // import() of a lazy bundle becomes require(), resolved beside this file.
      supported: { 'dynamic-import': false },
      minify: true,
      metafile: true,
      logLevel: 'silent',
      external: EXTERNAL_PACKAGES.flatMap((name) => [name, `${name}/*`]),
      plugins: [...plugins, lazyChildProcessForCommander(), keepSourceUrls(outDir)],
    });
    // A dependency update rewrites npm's record of the tree, which is an input too.
    for (const file of Object.keys(result.metafile.inputs)) {
      if (file.includes('node_modules/') || file.startsWith(`${LAZY_NAMESPACE}:`) || file === '<stdin>')
        continue;
      inputs.add(file);
    }
  };
  await bundle(ENTRY, 'cli.cjs');
  await bundle(
    { contents: "module.exports = require('zod');", resolveDir: root, loader: 'js' },
    ZOD_FILE,
    [],
  );
  // The relay byte streams' worker thread runs a file, not an import: the agent's bundle finds it
  // beside itself (electron/agent/tunnels/relay-stream-thread.ts).
  await bundle(PUMP_WORKER_ENTRY, PUMP_WORKER_BUNDLE, []);
  // The hub relay's pump process is forked from a file: the hub's bundle finds it beside itself
  // (server/relay/pump-child.ts, PUMP_BUNDLE_FILE).
  await bundle(join(root, 'server', 'relay', 'pump-process.ts'), 'relay-pump.cjs', []);
  for (let pending = [...lazy]; pending.length; pending = [...lazy].filter(([p]) => !built.has(p))) {
    for (const [path, name] of pending) {
      built.add(path);
      await bundle(path, name);
    }
  }
  const current = join(CLI_OUT_ROOT, 'current.json');
  const temp = `${current}.${process.pid}`;
  writeFileSync(temp, JSON.stringify({ id, builtAt, inputs: [...inputs] }, null, 1));
  renameSync(temp, current);
  removeOldBuilds(id);
  return join(outDir, 'cli.cjs');
}

/**
 * The CLI's `main` function: from the bundle (rebuilt first when stale, saying so on stderr), or
 * from the TypeScript sources through tsx when asked to or when the bundle cannot be built.
 */
export async function loadCli({ env = process.env, log = progressLine } = {}) {
  if (env.LATTICE_CLI_FROM_SOURCE === '1') return loadFromSource();
  let entry = freshCliBundle();
  if (!entry) {
    try {
      log(
        readCurrent()
          ? 'Sources changed: rebuilding the lattice CLI…'
          : 'Building the lattice CLI (first run)…',
      );
      entry = await buildCliBundle();
    } catch (err) {
      process.stderr.write(`Could not build the CLI bundle (${firstLine(err)}); running from source.\n`);
      return loadFromSource();
    }
  }
  return runBundle(entry);
}

/** Progress for people at a terminal; scripts reading stderr get only the command's own output. */
function progressLine(line) {
  if (process.stderr.isTTY) process.stderr.write(`${line}\n`);
}

async function loadFromSource() {
  const { register } = await import('tsx/esm/api');
  register();
  return (await import(pathToFileURL(ENTRY).href)).main;
}

function firstLine(err) {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
