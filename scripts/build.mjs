#!/usr/bin/env node
// `npm run build`: the Electron main process and preload bundled by esbuild into dist/electron, then
// the renderer built by Vite into dist/renderer. `--electron-only` / `--renderer-only` build one half.
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const outDir = join(root, 'dist', 'electron');
const args = new Set(process.argv.slice(2));

/**
 * Left to Node's require at run time: Electron itself, and native modules (a .node binary cannot be
 * bundled; electron-builder rebuilds them for Electron's ABI and unpacks them from the asar).
 */
export const EXTERNAL = ['electron', 'better-sqlite3', '@ngrok/ngrok', 'cpu-features', 'ssh2'];

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

/** `out` is dist/electron unless a test builds elsewhere. */
export async function buildElectron(out = outDir) {
  mkdirSync(out, { recursive: true });
  await build({
    ...common,
    entryPoints: [join(root, 'electron/main/main.ts')],
    outfile: join(out, 'main.cjs'),
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
  console.log(`built ${relative(process.cwd(), out) || '.'}/main.cjs and preload.cjs`);
}

export function hasViteConfig() {
  return ['vite.config.ts', 'vite.config.mjs', 'vite.config.js'].some((f) => existsSync(join(root, f)));
}

export function buildRenderer() {
  if (!hasViteConfig()) {
    console.log('no vite config: skipping the renderer');
    return;
  }
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`vite build failed (exit ${result.status ?? result.signal})`);
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
