#!/usr/bin/env node
// `npm run build`: the Electron main process and preload bundled by esbuild into dist/electron, then
// the renderer built by Vite into dist/renderer. `--electron-only` / `--renderer-only` build one half.
import { cpSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const outDir = join(root, 'dist', 'electron');
const args = new Set(process.argv.slice(2));

/**
 * Left to Node's require at run time: Electron itself, and native modules (a .node binary cannot be
 * bundled; electron-builder rebuilds them for Electron's ABI and unpacks them from the asar).
 * bufferutil: ws masks and unmasks its frames with it (8 → 0.2 ms of CPU per MB); bundled, it could not
 * find its prebuilt binary and ws quietly fell back to JavaScript.
 */
export const EXTERNAL = ['electron', 'better-sqlite3', '@ngrok/ngrok', 'cpu-features', 'ssh2', 'bufferutil'];

// The agent's sources are ESM and locate files next to themselves through import.meta.url. In the
// CommonJS bundle that becomes the bundle's own URL, and the files they look for are copied beside it.
const IMPORT_META_URL = '__latticeImportMetaUrl';
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22', // Electron 39's Node
  sourcemap: true,
  external: EXTERNAL,
  logLevel: 'warning',
  define: { 'import.meta.url': IMPORT_META_URL },
  banner: { js: `const ${IMPORT_META_URL} = require('url').pathToFileURL(__filename).href;` },
};

/** The worker's file name, as relay-stream-thread.ts looks for it next to the bundle. */
const PUMP_WORKER_BUNDLE = 'relay-stream-worker.cjs';

/** `out` is dist/electron unless a test builds elsewhere. */
export async function buildElectron(out = outDir) {
  mkdirSync(out, { recursive: true });
  await build({
    ...common,
    entryPoints: [join(root, 'electron/main/main.ts')],
    outfile: join(out, 'main.cjs'),
  });
  // The relay byte streams' worker thread runs a file of its own, found beside main.cjs
  // (electron/agent/tunnels/relay-stream-thread.ts). It imports only Node built-ins and
  // shared/stream-pump.ts, and locates nothing through import.meta.url.
  await build({
    ...common,
    entryPoints: [join(root, 'electron/agent/tunnels/relay-stream-worker.ts')],
    outfile: join(out, PUMP_WORKER_BUNDLE),
    define: {},
    banner: {},
  });
  // The preload runs sandboxed: one self-contained file whose only require is 'electron'.
  await build({
    ...common,
    entryPoints: [join(root, 'electron/preload/preload.ts')],
    outfile: join(out, 'preload.cjs'),
    external: ['electron'],
    // Nothing it bundles locates files, and a sandboxed preload may require little besides 'electron'.
    define: {},
    banner: {},
    // Loaded into every console window: keep it small.
    minify: true,
  });
  // store/migrate.ts reads its SQL files from `new URL('./migrations', import.meta.url)`.
  cpSync(join(root, 'electron/agent/store/migrations'), join(out, 'migrations'), { recursive: true });
  console.log(`built ${relative(process.cwd(), out) || '.'}/main.cjs, ${PUMP_WORKER_BUNDLE} and preload.cjs`);
}

/** Where the console and dashboard are built, and the record of when the last build started. */
export const RENDERER_DIR = join(root, 'dist', 'renderer');
export const RENDERER_STAMP = join(root, 'dist', 'renderer.stamp.json');

/**
 * Vite builds into a fresh folder that then replaces dist/renderer in two renames, so a server
 * running meanwhile never serves a half-emptied folder. The stamp records when the build started:
 * a source saved during the build counts as newer than it.
 */
export function buildRenderer({ quiet = false } = {}) {
  const startedAt = Date.now();
  const temp = join(root, 'dist', `.renderer-${process.pid}`);
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  const viteArgs = [
    vite,
    'build',
    '--outDir',
    temp,
    '--emptyOutDir',
    ...(quiet ? ['--logLevel', 'warn'] : []),
  ];
  const result = spawnSync(process.execPath, viteArgs, {
    cwd: root,
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'],
  });
  if (result.status !== 0) {
    rmSync(temp, { recursive: true, force: true });
    throw new Error(`vite build failed (exit ${result.status ?? result.signal})`);
  }
  const old = join(root, 'dist', `.renderer-old-${process.pid}`);
  if (existsSync(RENDERER_DIR)) renameSync(RENDERER_DIR, old);
  renameSync(temp, RENDERER_DIR);
  rmSync(old, { recursive: true, force: true });
  writeFileSync(RENDERER_STAMP, JSON.stringify({ startedAt }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    if (!args.has('--renderer-only')) await buildElectron();
    if (!args.has('--electron-only')) buildRenderer();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
