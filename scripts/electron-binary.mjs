// Can `npm start` open the desktop app here, or does it fall back to the headless agent? Electron's
// npm package downloads its binary at install time; where that failed (no internet) `require('electron')`
// throws or names a file that does not exist, and a desktop session is needed to show a window at all.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';

const requireHere = createRequire(import.meta.url);
const NOT_INSTALLED = "Electron's binary is not installed (no download on this machine)";

/** Where Electron's binary is, or why there is none. */
export function findElectronBinary({
  requireElectron = () => requireHere('electron'),
  exists = existsSync,
} = {}) {
  let path;
  try {
    path = requireElectron();
  } catch {
    // The package throws when its install step never recorded a downloaded binary.
    return { present: false, reason: NOT_INSTALLED };
  }
  if (typeof path !== 'string' || path === '') {
    return { present: false, reason: "Electron's npm package did not name a binary" };
  }
  if (!exists(path)) {
    return { present: false, path, reason: NOT_INSTALLED };
  }
  return { present: true, path };
}

/**
 * 'electron' or 'headless', and why. LATTICE_HEADLESS=1 forces headless; on Linux, no X11 or Wayland
 * display means no window could open, so headless too.
 */
export function decideStartMode({ binary, env = process.env, platform = process.platform }) {
  if (env.LATTICE_HEADLESS === '1') return { mode: 'headless', reason: 'LATTICE_HEADLESS=1' };
  if (!binary.present) return { mode: 'headless', reason: binary.reason };
  if (platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) {
    return { mode: 'headless', reason: 'there is no desktop session (no DISPLAY or WAYLAND_DISPLAY)' };
  }
  return { mode: 'electron', path: binary.path };
}
