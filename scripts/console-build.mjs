// The console and dashboard (dist/renderer) that `lattice agent`, `lattice hub` and `npm start` serve:
// built when missing or older than its sources, before anything prints a URL to it. Commands started
// at the same time (tests, two terminals) take a lock folder: one builds, the others wait for it.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildRenderer, RENDERER_DIR, RENDERER_STAMP } from './build.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
/** What the renderer build reads: its sources, the contract, the build config and the dependency set. */
const SOURCES = ['renderer', 'shared', 'vite.config.ts', 'package.json'];
const LOCK = join(root, 'dist', '.renderer-build.lock');
/** A lock older than this was left by a killed build. */
const STALE_LOCK_MS = 5 * 60_000;

function newestMtime(path) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** Why the console build must be (re)made, or undefined when it is current. */
export function consoleBuildNeeded() {
  if (!existsSync(join(RENDERER_DIR, 'index.html'))) return 'missing';
  let startedAt = 0;
  try {
    startedAt = JSON.parse(readFileSync(RENDERER_STAMP, 'utf8')).startedAt;
  } catch {
    return 'stale';
  }
  const sources = Math.max(...SOURCES.map((s) => newestMtime(join(root, s))));
  return sources > startedAt ? 'stale' : undefined;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Builds dist/renderer when missing or stale, saying so in one line first. Resolves to whether this
 * call built it. Throws when the build fails (the caller decides whether to go on without it).
 */
export async function ensureConsoleBuilt({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  if (!consoleBuildNeeded()) return false;
  mkdirSync(join(root, 'dist'), { recursive: true });
  let announced = false;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const st = statSync(LOCK, { throwIfNoEntry: false });
      if (st && Date.now() - st.mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      if (!announced) log('Waiting for another process that is building the console…');
      announced = true;
      await sleep(250);
      if (!consoleBuildNeeded()) return false;
    }
  }
  try {
    const why = consoleBuildNeeded();
    if (!why) return false;
    log(
      why === 'missing'
        ? 'Building the console (dist/renderer, first run; this takes a few seconds)…'
        : 'Console sources changed: rebuilding dist/renderer…',
    );
    buildRenderer({ quiet: true });
    return true;
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
